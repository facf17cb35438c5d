"""Handler tables: keyed by event class, the signature checked against the key, dependencies bound."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel

from shared.events import ApplicationWithdrawn, PremiumPaid
from shared.handlers import batch_handler, bind_handlers, check_handler_table, handles_batches
from shared.runtime import ServiceDefinition
from shared.unit_of_work import UnitOfWork

calls: list[tuple] = []


async def on_withdrawn(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    calls.append(("withdrawn", uow, event))


async def on_withdrawn_with_settings(uow: UnitOfWork, event: ApplicationWithdrawn, settings: str) -> None:
    calls.append(("with settings", event, settings))


async def on_paid(uow: UnitOfWork, event: PremiumPaid) -> None:
    calls.append(("paid", event))


@batch_handler
async def on_withdrawn_runs(uow: UnitOfWork, envelopes: list, settings: str) -> None:
    calls.append(("batch", len(envelopes), settings))


def a_withdrawal() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=uuid.uuid4())


def test_the_wire_name_comes_from_the_catalog():
    bound = bind_handlers({ApplicationWithdrawn: on_withdrawn, PremiumPaid: on_paid})

    assert set(bound) == {"ApplicationWithdrawn", "PremiumPaid"}


async def test_dependencies_after_the_event_are_passed_in_by_name():
    calls.clear()
    bound = bind_handlers({ApplicationWithdrawn: on_withdrawn_with_settings}, settings="the settings", other=1)
    event = a_withdrawal()

    await bound["ApplicationWithdrawn"](None, event)

    assert calls == [("with settings", event, "the settings")]


def test_a_dependency_the_wiring_does_not_provide_is_refused():
    with pytest.raises(TypeError, match="needs settings"):
        bind_handlers({ApplicationWithdrawn: on_withdrawn_with_settings})


def test_a_handler_registered_under_another_event_than_its_signature_is_refused():
    with pytest.raises(TypeError, match="registered for PremiumPaid but its event parameter is annotated"):
        check_handler_table({PremiumPaid: on_withdrawn})


def test_a_service_definition_with_a_mismatched_table_is_refused_at_import():
    with pytest.raises(TypeError, match="registered for PremiumPaid"):
        ServiceDefinition(name="enrollment", migrations_dir=None, handlers={PremiumPaid: on_withdrawn})


def test_keys_are_event_classes_of_the_catalog():
    class NotAnEvent(BaseModel):
        pass

    with pytest.raises(TypeError, match="keyed by event class"):
        check_handler_table({"ApplicationWithdrawn": on_withdrawn})
    with pytest.raises(TypeError, match="keyed by event class"):
        check_handler_table({NotAnEvent: on_withdrawn})


def test_a_subclass_outside_the_catalog_is_not_an_event():
    class Imitation(ApplicationWithdrawn):
        pass

    async def on_imitation(uow: UnitOfWork, event: Imitation) -> None: ...

    with pytest.raises(TypeError, match="not an event of the catalog"):
        check_handler_table({Imitation: on_imitation})


def test_a_handler_without_an_event_parameter_is_refused():
    async def on_nothing(uow: UnitOfWork) -> None: ...

    with pytest.raises(TypeError, match=r"must take \(uow, event: ApplicationWithdrawn\)"):
        check_handler_table({ApplicationWithdrawn: on_nothing})


def test_a_callable_object_is_checked_by_its_call_signature():
    class Counting:
        async def __call__(self, uow: UnitOfWork, event: PremiumPaid) -> None: ...

    check_handler_table({PremiumPaid: Counting()})
    with pytest.raises(TypeError, match="registered for ApplicationWithdrawn"):
        check_handler_table({ApplicationWithdrawn: Counting()})


async def test_a_batch_handler_stays_one_after_binding():
    calls.clear()
    bound = bind_handlers({ApplicationWithdrawn: on_withdrawn_runs}, settings="s")["ApplicationWithdrawn"]

    await bound(None, [object(), object()])

    assert handles_batches(bound)
    assert calls == [("batch", 2, "s")]


def test_consumed_topics_follow_the_event_classes_sources():
    definition = ServiceDefinition(name="notifications", migrations_dir=None,
                                   handlers={ApplicationWithdrawn: on_withdrawn, PremiumPaid: on_paid})

    assert definition.consumed_topics("bj.") == ["bj.shebao.billing.v1", "bj.shebao.enrollment.v1"]

"""Event handlers keyed by event class, and their binding to the service's dependencies.

A service's ``handlers.py`` ends with its table::

    HANDLERS: HandlerTable = {
        DocumentsVerified: on_documents_verified,
        PaymentOverdue: on_payment_overdue,
    }

Each handler is ``async def on_x(uow: UnitOfWork, event: X, ...) -> None``: the payload
class in its signature is its contract, and ``bind_handlers`` checks that it is the class
it is registered under, so a handler can never be wired to an event it does not read. The
wire name (``X``'s ``type`` attribute) comes from the event catalog. Parameters after the
event (``settings``, say) are the handler's dependencies: the wiring passes them in by
name, as cosmicpython's ``bootstrap.py`` does; a handler never reaches for them.

A ``@batch_handler`` takes ``(uow, envelopes)``: a run of consecutive events of its type.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from shared.events import EVENT_TYPES, Envelope, EventPayload
from shared.unit_of_work import UnitOfWork

Event = TypeVar("Event", bound=EventPayload, contravariant=True)


class EventHandler(Protocol[Event]):
    """A reaction to one event class: ``(uow, event)`` plus its dependencies by name."""

    def __call__(self, uow: UnitOfWork, event: Event, /, *args: Any, **dependencies: Any) -> Awaitable[None]: ...


HandlerTable = Mapping[type[EventPayload], Callable[..., Awaitable[None]]]
"""Event class -> its handler, as written at the end of a service's ``handlers.py``."""

BoundHandler = Callable[[UnitOfWork, Any], Awaitable[None]]
"""A handler with its dependencies bound: what the consumer calls, by wire name."""


def batch_handler(function: Callable[[UnitOfWork, list[Envelope]], Awaitable[None]]):
    """Mark a handler that applies a run of consecutive events of its type in one call.

    For projections whose effect is a plain insert or upsert per event, one ``executemany``
    per run instead of a round trip per event. Inbox deduplication and ordering are the same.
    """
    function.handles_batches = True
    return function


def handles_batches(handler: Any) -> bool:
    """Whether ``handler`` was marked with ``@batch_handler``."""
    return getattr(handler, "handles_batches", False)


def bind_handlers(table: HandlerTable, **dependencies: Any) -> dict[str, BoundHandler]:
    """The table by wire name, each handler's dependencies bound from ``dependencies``.

    Raises ``TypeError`` for a key that is not an event of the catalog, a handler whose
    event parameter is annotated with another class, or a dependency nobody provides.
    """
    check_handler_table(table)
    return {_wire_name(event_class): _bind(handler, dependencies) for event_class, handler in table.items()}


def check_handler_table(table: HandlerTable) -> None:
    """Raise ``TypeError`` unless every key is an event of the catalog and every handler's
    event parameter is annotated with the class it is registered under."""
    for event_class, handler in table.items():
        _wire_name(event_class)
        if not handles_batches(handler):
            _check_contract(handler, event_class)


def wire_names(table: HandlerTable) -> list[str]:
    """The event types a table handles, as they travel (``PremiumPaid``)."""
    return [_wire_name(event_class) for event_class in table]


def _wire_name(event_class: object) -> str:
    if not (isinstance(event_class, type) and issubclass(event_class, EventPayload)):
        raise TypeError(f"handlers are keyed by event class, not {event_class!r}")
    if EVENT_TYPES.get(event_class.event_type()) is not event_class:
        raise TypeError(f"{event_class.__name__} is not an event of the catalog")
    return event_class.event_type()


def _name(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__qualname__", type(handler).__qualname__)


def _parameters(handler: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(handler).parameters.values())


def _check_contract(handler: Callable[..., Any], event_class: type[EventPayload]) -> None:
    parameters = _parameters(handler)
    if len(parameters) < 2:
        raise TypeError(f"{_name(handler)} must take (uow, event: {event_class.__name__})")
    function = handler if inspect.isroutine(handler) else type(handler).__call__  # a callable object
    annotation = typing.get_type_hints(function).get(parameters[1].name)
    if annotation is not event_class:
        raise TypeError(f"{_name(handler)} is registered for {event_class.__name__} but its event "
                        f"parameter is annotated {getattr(annotation, '__name__', annotation)!r}")


def _bind(handler: Callable[..., Awaitable[None]], dependencies: Mapping[str, Any]) -> BoundHandler:
    wanted = [parameter.name for parameter in _parameters(handler)[2:]]
    missing = [name for name in wanted if name not in dependencies]
    if missing:
        raise TypeError(f"{_name(handler)} needs {', '.join(missing)}, which the wiring does not provide")
    if not wanted:
        return handler
    bound = functools.partial(handler, **{name: dependencies[name] for name in wanted})
    if handles_batches(handler):
        bound.handles_batches = True
    return bound

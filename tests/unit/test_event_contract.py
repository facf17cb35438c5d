import copy
import json

import pytest

from shared.events import EVENT_TYPES, SERVICES, topic_for
from shared.events.schema import (
    ASYNCAPI_PATH,
    CONTRACT_PATH,
    WRITE_COMMAND,
    breaking_changes,
    build_contract,
    build_document,
    render,
)


def a_contract() -> dict:
    return {
        "envelope": {"properties": {"id": "string:uuid"}, "required": ["id"]},
        "events": {
            "PremiumPaid": {
                "properties": {
                    "amount": "string",
                    "note": "null | string",
                    "applied": {
                        "array": {
                            "object": {
                                "properties": {"principal": "string", "memo": "null | string"},
                                "required": ["principal"],
                            }
                        }
                    },
                },
                "required": ["amount", "applied"],
            }
        },
    }


def changed(edit) -> dict:
    contract = copy.deepcopy(a_contract())
    edit(contract)
    return contract


def paid(contract: dict) -> dict:
    return contract["events"]["PremiumPaid"]


def test_the_committed_asyncapi_document_is_up_to_date():
    committed = ASYNCAPI_PATH.read_text(encoding="utf-8")
    assert committed == render(build_document()), f"{ASYNCAPI_PATH.name} is stale: run `{WRITE_COMMAND}`"


def test_no_change_breaks_a_consumer_of_the_v1_contract():
    baseline = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    assert breaking_changes(baseline, build_contract()) == []


def test_the_document_has_a_channel_per_service_with_its_events():
    document = build_document()
    assert document["asyncapi"] == "3.0.0"
    assert {channel["address"] for channel in document["channels"].values()} == {topic_for(s) for s in SERVICES}
    published = {name for channel in document["channels"].values() for name in channel["messages"]}
    assert published == set(EVENT_TYPES)
    for service, channel in document["channels"].items():
        assert all(EVENT_TYPES[name].source_service == service for name in channel["messages"])


def test_the_document_holds_a_schema_for_the_envelope_and_every_payload():
    document = build_document()
    schemas = document["components"]["schemas"]
    assert {"Envelope", *EVENT_TYPES} <= set(schemas)
    assert set(document["components"]["messages"]) == set(EVENT_TYPES)
    assert "#/$defs/" not in json.dumps(document)


def test_the_contract_describes_nested_models_and_json_types():
    due = build_contract()["events"]["PremiumDue"]
    line = due["properties"]["lines"]["array"]["object"]
    assert line["properties"]["amount"] == "string"
    assert due["properties"]["due_date"] == "string:date"
    assert "total" in due["required"]


def test_an_unchanged_contract_has_no_breaking_changes():
    assert breaking_changes(a_contract(), a_contract()) == []


def test_a_new_optional_field_is_not_breaking():
    def add(contract):
        paid(contract)["properties"]["channel"] = "null | string"

    assert breaking_changes(a_contract(), changed(add)) == []


def test_a_removed_event_is_breaking():
    def remove(contract):
        del contract["events"]["PremiumPaid"]

    assert breaking_changes(a_contract(), changed(remove)) == ["PremiumPaid: event type removed"]


def test_a_removed_field_is_breaking():
    def remove(contract):
        del paid(contract)["properties"]["note"]

    assert breaking_changes(a_contract(), changed(remove)) == ["PremiumPaid.note: removed"]


def test_a_removed_nested_field_is_breaking():
    def remove(contract):
        del paid(contract)["properties"]["applied"]["array"]["object"]["properties"]["memo"]

    assert breaking_changes(a_contract(), changed(remove)) == ["PremiumPaid.applied[].memo: removed"]


@pytest.mark.parametrize("new_type", ["number", "null | string", {"array": "string"}])
def test_a_retyped_field_is_breaking(new_type):
    def retype(contract):
        paid(contract)["properties"]["amount"] = new_type

    (problem,) = breaking_changes(a_contract(), changed(retype))
    assert problem.startswith('PremiumPaid.amount: type changed from "string" to ')


def test_an_optional_field_made_required_is_breaking():
    def require(contract):
        paid(contract)["required"].append("note")

    assert breaking_changes(a_contract(), changed(require)) == ["PremiumPaid.note: was optional, now required"]


def test_a_new_required_field_is_breaking():
    def add(contract):
        paid(contract)["properties"]["channel"] = "string"
        paid(contract)["required"].append("channel")

    (problem,) = breaking_changes(a_contract(), changed(add))
    assert problem.startswith("PremiumPaid.channel: new property is required")


def test_an_envelope_change_is_breaking_too():
    def retype(contract):
        contract["envelope"]["properties"]["id"] = "string"

    assert breaking_changes(a_contract(), changed(retype)) == [
        'Envelope.id: type changed from "string:uuid" to "string"'
    ]


def test_the_real_contract_would_catch_a_removed_field():
    current = build_contract()
    del current["events"]["PremiumPaid"]["properties"]["voucher_no"]
    baseline = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    assert breaking_changes(baseline, current) == ["PremiumPaid.voucher_no: removed"]

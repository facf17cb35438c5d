"""The published description of Shebao's events, generated from the models.

``asyncapi.json`` is an AsyncAPI 3.0 document (one channel per service topic, one
message per event type, JSON Schemas in ``components``). ``contract_v1.json`` is the
frozen baseline of the v1 topics: every event's properties, their JSON types and which
are required. A change that breaks a consumer of the baseline is refused.

    python -m shared.events.schema --write            # regenerate asyncapi.json
    python -m shared.events.schema --check            # stale document or breaking change: exit 1
    python -m shared.events.schema --freeze-contract  # write the baseline (once per major version)
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events.envelope import EVENT_TYPES, Envelope
from shared.events.topics import SERVICES, TOPIC_VERSION, TYPE_HEADER, topic_for

HERE = Path(__file__).parent
ASYNCAPI_PATH = HERE / "asyncapi.json"
CONTRACT_PATH = HERE / f"contract_{TOPIC_VERSION}.json"
WRITE_COMMAND = "python -m shared.events.schema --write"

_SCHEMAS = "#/components/schemas/{model}"


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic, message and schema."""
    models = [Envelope, *EVENT_TYPES.values()]
    _, definitions = models_json_schema([(model, "serialization") for model in models], ref_template=_SCHEMAS)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Shebao events",
            "version": "1.0.0",
            "description": (
                "Events of the Shebao services. Each topic may carry a deployment prefix "
                "(e.g. 'bj.'); failed messages go to '<topic>.dlq'. Messages are keyed by "
                "person id (region for PolicyPublished); the event type is also in the "
                f"'{TYPE_HEADER}' header."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {service: _channel(service) for service in SERVICES},
        "operations": {f"publish_{service}": _operation(service) for service in SERVICES},
        "components": {
            "messages": {name: _message(name, model) for name, model in sorted(EVENT_TYPES.items())},
            "schemas": definitions["$defs"],
        },
    }


def _events_of(service: str) -> list[str]:
    return sorted(name for name, model in EVENT_TYPES.items() if model.source_service == service)


def _channel(service: str) -> dict[str, Any]:
    return {
        "address": topic_for(service),
        "description": f"Events published by the {service} service.",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in _events_of(service)},
    }


def _operation(service: str) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{service}"},
        "messages": [{"$ref": f"#/channels/{service}/messages/{name}"} for name in _events_of(service)],
    }


def _message(name: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": inspect.getdoc(model) or name,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {TYPE_HEADER: {"type": "string", "const": name}},
            "required": [TYPE_HEADER],
        },
        "correlationId": {"location": "$message.payload#/correlationid"},
        "payload": {
            "allOf": [
                {"$ref": _SCHEMAS.format(model="Envelope")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": name},
                        "source": {"const": model.source_service},
                        "data": {"$ref": _SCHEMAS.format(model=name)},
                    },
                },
            ]
        },
    }


def build_contract() -> dict[str, Any]:
    """The compact contract of the current models: properties, JSON types, required."""
    return {
        "envelope": _describe_model(Envelope),
        "events": {name: _describe_model(model) for name, model in sorted(EVENT_TYPES.items())},
    }


def _describe_model(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    return _describe_object(schema, schema.get("$defs", {}))


def _describe_object(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {
        "properties": {name: _describe(prop, defs) for name, prop in sorted(properties.items())},
        "required": sorted(schema.get("required", [])),
    }


def _describe(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _describe(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if len(schema.get("allOf", [])) == 1:
        return _describe(schema["allOf"][0], defs)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        described = [_describe(alternative, defs) for alternative in alternatives]
        if all(isinstance(item, str) for item in described):
            return " | ".join(sorted(set(described)))
        return {"anyOf": described}
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        return {"object": _describe_object(schema, defs)}
    if kind == "array":
        return {"array": _describe(schema.get("items", {}), defs)}
    if isinstance(kind, list):
        return " | ".join(sorted(kind))
    if kind is None:
        return "any"
    return f"{kind}:{schema['format']}" if "format" in schema else kind


def breaking_changes(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What in ``current`` would break a consumer built against ``baseline``.

    Both are contracts as made by ``build_contract``. Breaking: an event type or a
    property removed, a property's type changed, an optional property made required,
    a new property that is required (new fields must be optional).
    """
    problems: list[str] = []
    if "envelope" in baseline:
        problems += _object_changes("Envelope", baseline["envelope"], current.get("envelope", {}))
    for name, event in sorted(baseline.get("events", {}).items()):
        if name not in current.get("events", {}):
            problems.append(f"{name}: event type removed")
            continue
        problems += _object_changes(name, event, current["events"][name])
    return problems


def _object_changes(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    new_properties = new.get("properties", {})
    for prop, old_type in sorted(old.get("properties", {}).items()):
        if prop not in new_properties:
            problems.append(f"{path}.{prop}: removed")
        else:
            problems += _type_changes(f"{path}.{prop}", old_type, new_properties[prop])
    old_required = set(old.get("required", []))
    for prop in sorted(set(new.get("required", [])) - old_required):
        if prop in old.get("properties", {}):
            problems.append(f"{path}.{prop}: was optional, now required")
        else:
            problems.append(f"{path}.{prop}: new property is required (new fields must be optional)")
    return problems


def _type_changes(path: str, old: Any, new: Any) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys() == {"object"}:
        return _object_changes(path, old["object"], new["object"])
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys() == {"array"}:
        return _type_changes(f"{path}[]", old["array"], new["array"])
    if old != new:
        return [f"{path}: type changed from {json.dumps(old)} to {json.dumps(new)}"]
    return []


def render(document: dict[str, Any]) -> str:
    """``document`` as the deterministic JSON text that is committed."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check() -> list[str]:
    """Why the committed files do not match the models; empty when they do."""
    problems: list[str] = []
    if not ASYNCAPI_PATH.exists() or ASYNCAPI_PATH.read_text(encoding="utf-8") != render(build_document()):
        problems.append(f"{ASYNCAPI_PATH.name} is stale: run `{WRITE_COMMAND}` and commit it")
    if not CONTRACT_PATH.exists():
        problems.append(f"{CONTRACT_PATH.name} is missing: run `python -m shared.events.schema --freeze-contract`")
    else:
        baseline = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
        problems += [f"breaking change: {change}" for change in breaking_changes(baseline, build_contract())]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--write``, ``--check`` or ``--freeze-contract [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m shared.events.schema", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help=f"write {ASYNCAPI_PATH.name}")
    action.add_argument("--check", action="store_true", help="exit 1 if the document is stale or a change breaks")
    action.add_argument("--freeze-contract", action="store_true", help=f"write the baseline {CONTRACT_PATH.name}")
    parser.add_argument("--force", action="store_true", help="overwrite an existing baseline")
    args = parser.parse_args(argv)
    if args.write:
        ASYNCAPI_PATH.write_text(render(build_document()), encoding="utf-8")
        print(f"wrote {ASYNCAPI_PATH}")
        return 0
    if args.freeze_contract:
        if CONTRACT_PATH.exists() and not args.force:
            print(f"{CONTRACT_PATH} exists; a baseline is frozen once (use --force to replace it)", file=sys.stderr)
            return 1
        CONTRACT_PATH.write_text(render(build_contract()), encoding="utf-8")
        print(f"wrote {CONTRACT_PATH}")
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

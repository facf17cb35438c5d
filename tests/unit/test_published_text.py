"""The OpenAPI documents publish what the request guard enforces on text (issue 12): every string a
client sends in a JSON body, a path or a query has a pattern, an enum or a format, and the pattern of
free text refuses exactly the control characters the guard refuses."""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from shared.request_guard import FREE_TEXT_PATTERN, control_characters_in
from shared.runtime import build_http_app
from shared.settings import SERVICE_NAMES, Settings
from shared.wire import UUID_PATTERN, WireUuid


def published(service: str) -> dict:
    definition = importlib.import_module(f"services.{service}.app").SERVICE
    return build_http_app(definition, Settings()).openapi()


def unconstrained_strings(node: object, where: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
            yield where
        for key, value in node.items():
            yield from unconstrained_strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from unconstrained_strings(value, f"{where}[{index}]")


def patterns(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns(value)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_string_a_client_sends_is_constrained_in_the_published_document(service):
    document = published(service)
    places = [*unconstrained_strings(document.get("components", {})),
              *(where for path, item in document["paths"].items() for method, operation in item.items()
                for where in unconstrained_strings(operation.get("parameters", []), f"{method} {path}"))]
    assert places == []
    assert FREE_TEXT_PATTERN in set(patterns(document))


def test_uploads_keep_their_binary_format():
    upload = str(published("documents"))
    assert "'format': 'binary'" in upload


@settings(deadline=None, max_examples=500)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_the_free_text_pattern_accepts_exactly_what_the_guard_lets_through(text):
    guard_refuses = any(control_characters_in(text, "body"))
    assert (re.fullmatch(FREE_TEXT_PATTERN, text) is None) == guard_refuses


@pytest.mark.parametrize("code", [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
def test_each_refused_control_character_is_outside_the_published_pattern(code):
    assert re.fullmatch(FREE_TEXT_PATTERN, f"a{chr(code)}b") is None


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_id_in_a_path_publishes_the_hyphenated_form_it_is_read_in(service):
    ids = [parameter["schema"] for item in published(service)["paths"].values() for operation in item.values()
           for parameter in operation.get("parameters", []) if parameter["name"].endswith("_id")]
    assert ids
    assert all(schema.get("format") == "uuid" and schema.get("pattern") == UUID_PATTERN for schema in ids), ids


UUID_TEXT = TypeAdapter(WireUuid)
AN_ID = "5f0c6a52-3f4b-4c1e-9a52-8f0f3c1d2e01"


@pytest.mark.parametrize("text", [AN_ID.replace("-", ""), "{" + AN_ID + "}", "urn:uuid:" + AN_ID, AN_ID + "\n",
                                  " " + AN_ID, AN_ID[:-1] + "g", 5])
def test_forms_pydantic_would_read_but_the_schema_does_not_publish_are_refused(text):
    assert re.fullmatch(UUID_PATTERN, str(text)) is None
    with pytest.raises(ValidationError):
        UUID_TEXT.validate_python(text)


@pytest.mark.parametrize("text", [AN_ID, AN_ID.upper()])
def test_the_published_form_is_read_in_either_case(text):
    assert re.fullmatch(UUID_PATTERN, text)
    assert UUID_TEXT.validate_python(text) == uuid.UUID(AN_ID)

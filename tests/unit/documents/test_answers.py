"""The refusals of the rules answer with the status, code and field the API has always used;
the review queue's cursor reads back what it wrote and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.documents.domain import UploadRefusal, UploadRule
from services.documents.operations.answers import caller_of, not_found, upload_refused
from services.documents.views import decode_cursor, encode_cursor
from shared.auth import Principal
from shared.errors import ApiError


def test_each_refused_upload_answers_as_before():
    answers = {rule: upload_refused(UploadRefusal(rule, "why")) for rule in UploadRule}

    assert {rule: (a.status, a.code, a.detail) for rule, a in answers.items()} == {
        UploadRule.NOT_THE_APPLICANT: (403, "forbidden", [{"reason": "why"}]),
        UploadRule.DOSSIER_CLOSED: (409, "dossier_closed", [{"field": "path.application_id", "reason": "why"}]),
        UploadRule.MATERIAL_NOT_REQUIRED: (422, "material_not_required", [{"field": "path.material", "reason": "why"}]),
    }


def test_an_unknown_dossier_is_not_found():
    answer = not_found("dossier", "path.application_id")

    assert (answer.status, answer.code, answer.detail) == (
        404, "dossier_not_found", [{"field": "path.application_id", "reason": "no such dossier"}])


def test_a_principal_is_a_caller_by_role_id_and_region():
    caller = caller_of(Principal(sub="caseworker-li", role="caseworker", region="310000"))

    assert (caller.role, caller.id, caller.region) == ("caseworker", "caseworker-li", "310000")


def test_a_cursor_reads_back_the_key_of_the_last_dossier_of_a_page():
    key = (datetime(2025, 7, 1, 8, 30, tzinfo=UTC), uuid.uuid4())

    cursor = encode_cursor({"waiting_since": key[0], "application_id": key[1]})

    assert decode_cursor(cursor) == key


@pytest.mark.parametrize("cursor", ["nonsense", "MjAyNS0wNy0wMVQwODozMDowMA==", "bm8tc2VwYXJhdG9y"])
def test_anything_but_a_cursor_of_the_api_is_refused(cursor):
    with pytest.raises(ApiError) as refused:
        decode_cursor(cursor)

    assert (refused.value.status, refused.value.code) == (422, "validation_error")
    assert refused.value.detail[0]["field"] == "query.cursor"

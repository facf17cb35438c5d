"""Dossiers opened by ApplicationSubmitted; uploads checked by their bytes, size and owner."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest

from shared.events import ApplicationRejected, make_envelope, topic_for
from shared.runtime import build_http_app
from tests.integration.harness import eventually, read_topic
from tests.unit.documents.sample_files import a_jpeg, a_pdf, a_png, a_unique_png, multipart

from .conftest import SHANGHAI, Application

pytestmark = pytest.mark.integration

MB = 1024 * 1024


async def test_a_submitted_application_opens_a_dossier_with_the_checklist_of_its_programmes(documents):
    pension = await documents.an_application(programmes=("pension", "medical_employee"))
    medical_only = await documents.an_application(programmes=("medical_employee",), region=SHANGHAI)

    with_pension = await documents.dossier(pension)
    without_pension = await documents.dossier(medical_only)

    assert with_pension["status"] == "open"
    assert [(m["material"], m["status"]) for m in with_pension["materials"]] == [
        ("id_card", "missing"), ("household_register", "missing"),
        ("social_security_card", "missing"), ("work_unit_certificate", "missing"),
    ]
    assert [m["material"] for m in without_pension["materials"]] == [
        "id_card", "household_register", "social_security_card"]
    assert (without_pension["region"], without_pension["person_id"]) == (SHANGHAI, str(medical_only.person_id))


async def test_a_region_override_in_the_requirement_table_changes_new_dossiers(documents):
    region = "440300"
    async with documents.pool.acquire() as conn:
        await conn.execute("INSERT INTO material_requirements VALUES ($1, 'unemployment', 'work_unit_certificate')",
                           region)

    shenzhen = await documents.an_application(programmes=("unemployment",), region=region)
    elsewhere = await documents.an_application(programmes=("unemployment",))

    assert [m["material"] for m in (await documents.dossier(shenzhen))["materials"]] == [
        "id_card", "household_register", "work_unit_certificate"]
    assert [m["material"] for m in (await documents.dossier(elsewhere))["materials"]] == [
        "id_card", "household_register"]


async def test_the_same_application_submitted_twice_opens_one_dossier(documents):
    submission = documents.submission(programmes=("pension",))
    replayed = submission.model_copy(update={"id": uuid.uuid4()})  # re-emitted by an operator: a new event id
    later = documents.submission(person_id=submission.data.person_id)  # same person, so same partition, after

    for envelope in (submission, submission, replayed, later):
        await documents.publish(envelope)
    await documents.dossier_opened(later.data.application_id)

    application_id = submission.data.application_id
    assert await documents.value("SELECT count(*) FROM dossiers WHERE application_id = $1", application_id) == 1
    assert await documents.value(
        "SELECT count(*) FROM dossier_materials WHERE application_id = $1", application_id) == 4


async def test_a_real_jpeg_png_and_pdf_are_accepted_stored_and_announced(documents):
    application = await documents.an_application(programmes=("pension",))
    files = {"id_card": a_jpeg(), "household_register": a_unique_png(), "work_unit_certificate": a_pdf()}

    responses = {material: await documents.upload(application, material, content)
                 for material, content in files.items()}

    assert {m: r.status_code for m, r in responses.items()} == dict.fromkeys(files, 201)
    assert {m: r.json()["content_type"] for m, r in responses.items()} == {
        "id_card": "image/jpeg", "household_register": "image/png", "work_unit_certificate": "application/pdf"}
    received = await documents.emitted("DocumentReceived", application)
    assert {(e.data.material, e.data.sha256, e.data.size, str(e.data.document_id), e.subject) for e in received} == {
        (m, hashlib.sha256(c).hexdigest(), len(c), responses[m].json()["document_id"],
         responses[m].json()["document_id"])
        for m, c in files.items()
    }
    assert {e.region for e in received} == {application.region}
    statuses = {m["material"]: m["status"] for m in (await documents.dossier(application))["materials"]}
    assert statuses == {"id_card": "received", "household_register": "received", "work_unit_certificate": "received",
                        "social_security_card": "missing"}
    for content in files.values():
        key = documents.storage.key_for(hashlib.sha256(content).hexdigest())
        assert await documents.storage.exists(key)
    row = (await documents.rows("SELECT uploaded_by, content_type FROM documents WHERE document_id = $1",
                                uuid.UUID(responses["id_card"].json()["document_id"])))[0]
    assert (row["uploaded_by"], row["content_type"]) == (str(application.person_id), "image/jpeg")


async def test_a_reupload_replaces_the_current_version_and_keeps_the_first_in_history(documents):
    application = await documents.an_application(programmes=("medical_employee",))
    first = await documents.uploaded(application, "id_card", a_jpeg())

    second = await documents.uploaded(application, "id_card", a_unique_png())

    id_card = (await documents.dossier(application))["materials"][0]
    assert (id_card["document_id"], id_card["version"], id_card["content_type"]) == (second, 2, "image/png")
    assert [(v["document_id"], v["version"]) for v in id_card["history"]] == [(second, 2), (first, 1)]
    assert len(await documents.emitted("DocumentReceived", application)) == 2


async def nothing_stored_for(documents, application: Application) -> bool:
    rows = await documents.value("SELECT count(*) FROM documents WHERE application_id = $1",
                                 application.application_id)
    return rows == 0 and documents.storage.staged_files() == [] and not await documents.emitted(
        "DocumentReceived", application)


async def test_a_text_file_named_jpg_is_refused_as_unsupported(documents):
    application = await documents.an_application()

    response = await documents.upload(application, "id_card", b"I am not a picture of an ID card\n" * 20,
                                      filename="id_card.jpg", content_type="image/jpeg")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_file_type"
    assert await nothing_stored_for(documents, application)


async def test_an_11_mb_upload_is_refused_as_too_large_and_nothing_is_stored(documents):
    application = await documents.an_application()
    keys_before = documents.storage.object_keys()

    response = await documents.upload(application, "id_card", a_pdf() + b"\x00" * (11 * MB))

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert await nothing_stored_for(documents, application)
    assert documents.storage.object_keys() == keys_before


async def test_a_streamed_11_mb_upload_without_a_length_is_cut_off_at_the_limit(documents):
    application = await documents.an_application()
    body, content_type = multipart(a_pdf() + b"\x00" * (11 * MB))
    chunk = 256 * 1024
    pulled = 0

    async def body_in_chunks():  # no Content-Length: the service cannot refuse before reading
        nonlocal pulled
        for start in range(0, len(body), chunk):
            pulled += len(body[start:start + chunk])
            yield body[start:start + chunk]

    response = await documents.client.put(
        f"/v1/dossiers/{application.application_id}/materials/id_card", content=body_in_chunks(),
        headers={**documents.resident(application), "Content-Type": content_type},
    )

    assert response.status_code == 413
    assert pulled <= 10 * MB + 2 * chunk < len(body)
    assert await nothing_stored_for(documents, application)


async def test_an_empty_file_is_refused(documents):
    application = await documents.an_application()

    response = await documents.upload(application, "id_card", b"")

    assert response.status_code == 422
    assert response.json()["error"] == "empty_file"
    assert await nothing_stored_for(documents, application)


async def test_an_unknown_material_code_is_refused(documents):
    application = await documents.an_application()

    response = await documents.upload(application, "passport", a_jpeg())

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "path.material"


async def test_a_material_the_programmes_do_not_need_is_refused(documents):
    application = await documents.an_application(programmes=("unemployment",))

    response = await documents.upload(application, "work_unit_certificate", a_pdf())

    assert response.status_code == 422
    assert response.json()["error"] == "material_not_required"


async def test_an_unknown_dossier_is_not_found(documents):
    ghost = Application(uuid.uuid4(), uuid.uuid4(), "110000")

    upload = await documents.upload(ghost, "id_card", a_jpeg())
    read = await documents.client.get(f"/v1/dossiers/{ghost.application_id}", headers=documents.resident(ghost))

    assert (upload.status_code, read.status_code) == (404, 404)


async def test_a_withdrawn_application_closes_its_dossier_to_uploads(documents):
    application = await documents.an_application()
    await documents.uploaded(application, "id_card", a_jpeg())

    await documents.withdraw(application)
    response = await documents.upload(application, "household_register", a_unique_png())

    assert response.status_code == 409
    assert response.json()["error"] == "dossier_closed"
    assert (await documents.dossier(application))["status"] == "withdrawn"


async def test_an_application_refused_by_enrollment_closes_its_dossier(documents):
    application = await documents.an_application()

    await documents.publish(make_envelope(
        ApplicationRejected(application_id=application.application_id, person_id=application.person_id,
                            reasons=("already enrolled in pension",)),
        subject=str(application.application_id), region=application.region))

    async def closed():
        return (await documents.dossier(application))["status"] == "rejected"
    await eventually(closed, timeout_s=15, interval_s=0.05)
    assert (await documents.upload(application, "id_card", a_jpeg())).status_code == 409


async def test_a_resident_cannot_upload_to_or_read_another_persons_dossier(documents):
    mine = await documents.an_application()
    theirs = await documents.an_application()
    their_document = await documents.uploaded(theirs, "id_card", a_jpeg())
    me = documents.resident(mine)

    upload = await documents.upload(theirs, "household_register", a_unique_png(), headers=me)
    dossier = await documents.client.get(f"/v1/dossiers/{theirs.application_id}", headers=me)
    content = await documents.client.get(f"/v1/documents/{their_document}/content", headers=me)

    assert (upload.status_code, dossier.status_code, content.status_code) == (403, 403, 403)
    assert await documents.value("SELECT count(*) FROM documents WHERE application_id = $1",
                                 theirs.application_id) == 1
    assert await documents.value("SELECT count(*) FROM content_reads WHERE document_id = $1",
                                 uuid.UUID(their_document)) == 0


async def test_staff_do_not_upload_and_a_caseworker_of_another_region_sees_nothing(documents):
    application = await documents.an_application()
    document_id = await documents.uploaded(application, "id_card", a_jpeg())
    shanghai = documents.caseworker(SHANGHAI)

    upload = await documents.upload(application, "household_register", a_png(), headers=documents.caseworker())
    dossier = await documents.client.get(f"/v1/dossiers/{application.application_id}", headers=shanghai)
    content = await documents.client.get(f"/v1/documents/{document_id}/content", headers=shanghai)
    anonymous = await documents.client.get(f"/v1/documents/{document_id}/content")

    assert (upload.status_code, dossier.status_code, content.status_code) == (403, 403, 403)
    assert anonymous.status_code == 401


async def test_every_read_of_a_file_is_audited_with_who_and_when(documents):
    application = await documents.an_application()
    content = a_unique_png()
    document_id = await documents.uploaded(application, "id_card", content)

    by_owner = await documents.client.get(f"/v1/documents/{document_id}/content",
                                          headers=documents.resident(application))
    by_caseworker = await documents.client.get(f"/v1/documents/{document_id}/content",
                                               headers=documents.caseworker(name="caseworker-li"))

    for response in (by_owner, by_caseworker):
        assert response.status_code == 200
        assert response.content == content
        assert response.headers["content-type"] == "image/png"
    reads = await documents.rows(
        "SELECT reader, reader_role, reader_region, application_id, read_at FROM content_reads "
        "WHERE document_id = $1 ORDER BY read_id", uuid.UUID(document_id))
    assert [(r["reader"], r["reader_role"], r["reader_region"]) for r in reads] == [
        (str(application.person_id), "resident", "110000"), ("caseworker-li", "caseworker", "110000")]
    assert all(r["application_id"] == application.application_id and r["read_at"] is not None for r in reads)


async def test_the_same_file_from_two_persons_is_flagged_for_the_caseworker(documents):
    first = await documents.an_application()
    second = await documents.an_application()
    same_scan = a_unique_png()
    await documents.uploaded(first, "id_card", same_scan)
    await documents.uploaded(first, "household_register", a_jpeg() + b"first person")

    await documents.uploaded(second, "id_card", same_scan)

    as_caseworker = await documents.dossier(second, headers=documents.caseworker())
    first_view = await documents.dossier(first, headers=documents.caseworker())
    flags = {m["material"]: m.get("duplicate") for m in first_view["materials"] if m["status"] != "missing"}
    assert as_caseworker["materials"][0]["duplicate"] is True
    assert flags == {"id_card": True, "household_register": False}
    assert "duplicate" not in (await documents.dossier(second))["materials"][0]  # not shown to the resident


async def test_a_crash_between_writing_the_file_and_committing_leaves_no_row_and_no_file(documents):
    application = await documents.an_application()
    content = a_unique_png()
    key = documents.storage.key_for(hashlib.sha256(content).hexdigest())
    async with documents.pool.acquire() as conn:
        await conn.execute("""
            CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'simulated crash at commit'; END $$;
            CREATE CONSTRAINT TRIGGER crash_at_commit AFTER INSERT ON documents
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();""")
    try:
        app = build_http_app(documents.svc.runtime.definition, documents.svc.settings, runtime=documents.svc.runtime)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body, content_type = multipart(content)
            response = await client.put(
                f"/v1/dossiers/{application.application_id}/materials/id_card", content=body,
                headers={**documents.resident(application), "Content-Type": content_type})
    finally:
        async with documents.pool.acquire() as conn:
            await conn.execute("DROP TRIGGER crash_at_commit ON documents; DROP FUNCTION refuse_commit();")

    assert response.status_code == 500
    assert await nothing_stored_for(documents, application)
    assert not await documents.storage.exists(key)
    assert (await documents.dossier(application))["materials"][0]["status"] == "missing"
    missing = [row["storage_key"] for row in await documents.rows("SELECT storage_key FROM documents WHERE "
                                                                  "storage_key IS NOT NULL")
               if not await documents.storage.exists(row["storage_key"])]
    assert missing == []
    # and the resident simply uploads again
    assert (await documents.upload(application, "id_card", content)).status_code == 201
    assert await documents.storage.exists(key)


async def test_the_received_event_reaches_the_documents_topic_keyed_by_person(documents):
    application = await documents.an_application(programmes=("medical_employee",))
    document_id = await documents.uploaded(application, "id_card", a_jpeg())

    async def relayed():
        return await documents.value("SELECT status = 'sent' FROM outbox WHERE "
                                     "convert_from(envelope, 'UTF8')::jsonb #>> '{data,document_id}' = $1",
                                     document_id)
    await eventually(relayed, timeout_s=15, interval_s=0.05)
    sent = await documents.value("SELECT count(*) FROM outbox WHERE status = 'sent'")
    records = await read_topic(documents.bootstrap_servers, topic_for("documents", documents.prefix), sent)

    (record,) = [r for r in records if document_id.encode() in r.value]
    assert record.key == str(application.person_id).encode()
    assert dict(record.headers)["ce_type"] == b"DocumentReceived"

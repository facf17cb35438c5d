"""A caseworker's queue and verdicts, the events they cause, and the retention purge."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

import pytest

from services.documents.app import purge_past_retention
from tests.unit.documents.sample_files import a_jpeg, a_pdf, a_unique_png

from .conftest import SHANGHAI

pytestmark = pytest.mark.integration

MEDICAL = ("medical_employee",)  # id card, household register, social security card


async def a_dossier_with_every_material(documents, *, programmes=MEDICAL, region="110000"):
    application = await documents.an_application(programmes=programmes, region=region)
    materials = [m["material"] for m in (await documents.dossier(application))["materials"]]
    uploaded = {material: await documents.uploaded(application, material, a_unique_png()) for material in materials}
    return application, uploaded


async def test_approving_every_required_material_emits_documents_verified_exactly_once(documents):
    application, uploaded = await a_dossier_with_every_material(documents)

    verdicts = [await documents.approved(document_id, headers=documents.caseworker(name="caseworker-zhao"))
                for document_id in uploaded.values()]

    assert [v["dossier_outcome"] for v in verdicts] == [None, None, "verified"]
    (verified,) = await documents.emitted("DocumentsVerified", application)
    assert verified.subject == str(application.application_id)
    assert verified.data.person_id == application.person_id
    assert verified.data.verified_by == "caseworker-zhao"
    hashes = {row["document_id"]: row["sha256"] for row in await documents.rows(
        "SELECT document_id, sha256 FROM documents WHERE application_id = $1", application.application_id)}
    assert {(m.material, str(m.document_id), m.sha256) for m in verified.data.materials} == {
        (material, document_id, hashes[uuid.UUID(document_id)]) for material, document_id in uploaded.items()}
    dossier = await documents.dossier(application)
    assert dossier["status"] == "verified"
    assert {m["status"] for m in dossier["materials"]} == {"approved"}
    # the dossier is decided: no second verdict, no new upload, no second event
    again = await documents.review(uploaded["id_card"])
    late_upload = await documents.upload(application, "id_card", a_jpeg())
    assert (again.status_code, late_upload.status_code) == (409, 409)
    assert len(await documents.emitted("DocumentsVerified", application)) == 1
    assert await documents.emitted("DocumentsRejected", application) == []


async def test_a_rejection_is_announced_then_a_new_upload_is_reviewed_and_verifies(documents):
    application, uploaded = await a_dossier_with_every_material(documents)
    await documents.approved(uploaded["id_card"])

    first = await documents.review(uploaded["household_register"], "reject", reason="illegible")
    second = await documents.review(uploaded["social_security_card"], "reject", reason="other",
                                    note="the card belongs to someone else")

    assert (first.status_code, second.status_code) == (200, 200)
    rejections = await documents.emitted("DocumentsRejected", application)
    assert [[(r.material, r.reason, r.note) for r in e.data.rejected] for e in rejections] == [
        [("household_register", "illegible", "")],
        [("household_register", "illegible", ""),
         ("social_security_card", "other", "the card belongs to someone else")],
    ]
    statuses = {m["material"]: (m["status"], m["reason"]) for m in (await documents.dossier(application))["materials"]}
    assert statuses == {"id_card": ("approved", None), "household_register": ("rejected", "illegible"),
                        "social_security_card": ("rejected", "other")}

    replacements = [await documents.uploaded(application, material, a_unique_png())
                    for material in ("household_register", "social_security_card")]
    stale = await documents.review(uploaded["household_register"], "approve")
    outcomes = [(await documents.approved(document_id))["dossier_outcome"] for document_id in replacements]

    assert stale.status_code == 409  # the rejected version was replaced; its verdict stands
    assert outcomes == [None, "verified"]
    (verified,) = await documents.emitted("DocumentsVerified", application)
    assert {str(m.document_id) for m in verified.data.materials} == {uploaded["id_card"], *replacements}
    reviews = await documents.rows(
        "SELECT r.decision, r.reason, r.reviewer, r.reviewed_at FROM reviews r JOIN documents d USING (document_id) "
        "WHERE d.application_id = $1 ORDER BY r.reviewed_at", application.application_id)
    assert [(r["decision"], r["reason"], r["reviewer"]) for r in reviews] == [
        ("approve", None, "caseworker-wang"), ("reject", "illegible", "caseworker-wang"),
        ("reject", "other", "caseworker-wang"), ("approve", None, "caseworker-wang"),
        ("approve", None, "caseworker-wang")]


async def test_a_verdict_must_name_a_reason_and_other_must_say_why(documents):
    application = await documents.an_application(programmes=MEDICAL)
    document_id = await documents.uploaded(application, "id_card", a_unique_png())

    no_reason = await documents.review(document_id, "reject")
    bad_reason = await documents.review(document_id, "reject", reason="ugly")
    other_without_note = await documents.review(document_id, "reject", reason="other")
    unknown_decision = await documents.review(document_id, "maybe")

    assert [r.status_code for r in (no_reason, bad_reason, other_without_note, unknown_decision)] == [422] * 4
    assert no_reason.json()["detail"][0]["field"] == "body.reason"
    assert other_without_note.json()["detail"][0]["field"] == "body.note"
    assert await documents.value("SELECT status FROM documents WHERE document_id = $1",
                                 uuid.UUID(document_id)) == "received"


async def test_only_a_caseworker_of_the_dossiers_region_reviews(documents):
    application = await documents.an_application(programmes=MEDICAL)
    document_id = await documents.uploaded(application, "id_card", a_unique_png())

    other_region = await documents.review(document_id, headers=documents.caseworker(SHANGHAI))
    resident = await documents.review(document_id, headers=documents.resident(application))
    unknown = await documents.review(str(uuid.uuid4()))

    assert (other_region.status_code, resident.status_code, unknown.status_code) == (403, 403, 404)


async def test_the_review_queue_shows_waiting_dossiers_of_the_region_oldest_first_a_page_at_a_time(documents):
    region = "320100"  # a region no other test uses, so the queue holds only this story
    oldest, newer, newest = [await documents.an_application(programmes=MEDICAL, region=region) for _ in range(3)]
    for application in (oldest, newer, newest):
        await documents.uploaded(application, "id_card", a_unique_png())
    approved_away = await documents.uploaded(newer, "household_register", a_unique_png())
    await documents.approved(approved_away, headers=documents.caseworker(region))
    elsewhere = await documents.an_application(programmes=MEDICAL, region=SHANGHAI)
    await documents.uploaded(elsewhere, "id_card", a_unique_png())
    nanjing = documents.caseworker(region)

    first = await documents.client.get("/v1/review-queue", params={"limit": 2}, headers=nanjing)
    second = await documents.client.get("/v1/review-queue", params={"limit": 2, "cursor": first.json()["next_cursor"]},
                                        headers=nanjing)

    assert first.status_code == second.status_code == 200
    assert [i["application_id"] for i in first.json()["items"]] == [str(oldest.application_id),
                                                                   str(newer.application_id)]
    assert [i["application_id"] for i in second.json()["items"]] == [str(newest.application_id)]
    assert second.json()["next_cursor"] is None
    newer_item = first.json()["items"][1]
    assert [d["material"] for d in newer_item["documents"]] == ["id_card"]  # the approved one left the queue
    as_resident = await documents.client.get("/v1/review-queue", headers=documents.resident(oldest))
    bad_cursor = await documents.client.get("/v1/review-queue", params={"cursor": "nonsense"}, headers=nanjing)
    assert (as_resident.status_code, bad_cursor.status_code) == (403, 422)


async def test_the_review_queue_flags_a_file_another_person_also_uploaded(documents):
    region = "330100"
    shared_scan = a_unique_png()
    honest, copier = [await documents.an_application(programmes=MEDICAL, region=region) for _ in range(2)]
    await documents.uploaded(honest, "id_card", shared_scan)
    await documents.uploaded(copier, "id_card", shared_scan)
    await documents.uploaded(copier, "household_register", a_unique_png())

    queue = (await documents.client.get("/v1/review-queue", headers=documents.caseworker(region))).json()

    flags = {item["application_id"]: {d["material"]: d["duplicate"] for d in item["documents"]}
             for item in queue["items"]}
    assert flags == {str(honest.application_id): {"id_card": True},
                     str(copier.application_id): {"id_card": True, "household_register": False}}
    assert all(item["duplicate"] for item in queue["items"])


async def test_materials_past_retention_are_purged_leaving_tombstones_and_a_record(documents):
    person_id = uuid.uuid4()
    shared_scan, certificate = a_unique_png(), a_pdf(f"certificate {uuid.uuid4()}")
    old = await documents.an_application(programmes=("pension",), person_id=person_id)
    current = await documents.an_application(programmes=MEDICAL, person_id=person_id)
    old_id_card = await documents.uploaded(old, "id_card", shared_scan)
    old_certificate = await documents.uploaded(old, "work_unit_certificate", certificate)
    await documents.review(old_certificate, "reject", reason="other", note="stamp of Zhang San's employer unreadable")
    await documents.uploaded(current, "id_card", shared_scan)  # the same scan, still needed by an open dossier
    # withdrawn at 01:00 on 1 March 2015 in Beijing (still 28 February in UTC)
    await documents.withdraw(old, at=datetime(2015, 2, 28, 17, 0, tzinfo=UTC))
    ops = documents.svc.auth("ops", sub="ops-chen")

    shanghai_ops = documents.svc.auth("ops", sub="ops-wang", region="310000")

    def purge(as_of: str, **more) -> dict:
        return {"as_of": as_of, "back_run_reason": "the story is set in 2025", **more}

    too_early = await documents.client.post("/v1/ops/retention-purge", json=purge("2025-02-28"), headers=ops)
    rehearsed = await documents.client.post("/v1/ops/retention-purge", json=purge("2025-03-01", dry_run=True),
                                            headers=ops)
    other_region = await documents.client.post("/v1/ops/retention-purge", json=purge("2025-03-01"),
                                               headers=shanghai_ops)
    due = await documents.client.post("/v1/ops/retention-purge", json=purge("2025-03-01"), headers=ops)
    again = await documents.client.post("/v1/ops/retention-purge", json=purge("2025-03-01"), headers=ops)

    assert too_early.json()["dossiers"] == 0
    assert {k: rehearsed.json()[k] for k in ("dossiers", "documents", "bytes", "files_deleted", "dry_run")} == {
        "dossiers": 1, "documents": 2, "bytes": len(shared_scan) + len(certificate), "files_deleted": 0,
        "dry_run": True}
    assert (other_region.json()["dossiers"], other_region.json()["documents"]) == (0, 0)
    assert {k: due.json()[k] for k in ("dossiers", "documents", "files_deleted", "closed_on_or_before")} == {
        "dossiers": 1, "documents": 2, "files_deleted": 1, "closed_on_or_before": "2015-03-01"}
    assert due.json()["bytes"] == len(shared_scan) + len(certificate)
    assert (again.json()["dossiers"], again.json()["documents"]) == (0, 0)
    storage = documents.storage
    assert not await storage.exists(storage.key_for(hashlib.sha256(certificate).hexdigest()))
    assert await storage.exists(storage.key_for(hashlib.sha256(shared_scan).hexdigest()))
    tombstones = await documents.rows("SELECT material, sha256, storage_key, status, rejection_note, purged_at "
                                      "FROM documents WHERE application_id = $1 ORDER BY material", old.application_id)
    assert [(t["material"], t["sha256"], t["storage_key"], t["status"], t["rejection_note"]) for t in tombstones] == [
        ("id_card", hashlib.sha256(shared_scan).hexdigest(), None, "received", None),
        ("work_unit_certificate", hashlib.sha256(certificate).hexdigest(), None, "rejected", None)]
    assert all(t["purged_at"] is not None for t in tombstones)
    assert await documents.value("SELECT note FROM reviews WHERE document_id = $1", uuid.UUID(old_certificate)) is None
    gone = await documents.client.get(f"/v1/documents/{old_certificate}/content", headers=documents.resident(old))
    assert gone.status_code == 410
    view = await documents.dossier(old)
    assert view["purged_at"] is not None
    assert [(m["material"], m["purged"]) for m in view["materials"] if m["status"] != "missing"] == [
        ("id_card", True), ("work_unit_certificate", True)]
    (purge,) = await documents.rows("SELECT as_of, closed_by, ran_by, dossiers, documents, files_deleted "
                                    "FROM purges WHERE purge_id = $1", uuid.UUID(due.json()["purge_id"]))
    assert dict(purge) == {"as_of": date(2025, 3, 1), "closed_by": date(2015, 3, 1), "ran_by": "ops-chen",
                           "dossiers": 1, "documents": 2, "files_deleted": 1}
    assert (await documents.client.get(f"/v1/documents/{old_id_card}/content",
                                       headers=documents.resident(old))).status_code == 410


async def test_only_ops_run_the_purge_and_the_daily_job_purges_as_of_today(documents):
    caseworker = await documents.client.post("/v1/ops/retention-purge", json={"as_of": "2025-03-01"},
                                             headers=documents.caseworker())
    far_ahead = await documents.client.post("/v1/ops/retention-purge", json={"as_of": "9999-12-31"},
                                            headers=documents.svc.auth("ops"))
    assert (far_ahead.status_code, far_ahead.json()["detail"][0]["field"]) == (422, "body.as_of")
    runs_before = await documents.value("SELECT count(*) FROM purges WHERE ran_by = 'scheduler'")

    await purge_past_retention(documents.svc.runtime)

    assert caseworker.status_code == 403
    today = datetime.now(UTC).astimezone(documents.svc.settings.tz).date()
    latest = await documents.rows("SELECT as_of FROM purges WHERE ran_by = 'scheduler' ORDER BY ran_at")
    assert len(latest) == runs_before + 1
    assert latest[-1]["as_of"] == today

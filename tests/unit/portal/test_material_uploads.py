"""A material's upload, with the documents service scripted: the plain form post and the post of
static/upload.js (``X-Requested-With``) are checked alike (CSRF, the pages and errors they get),
and the body is read as it streams in, its file refused over documents' limit before documents is
called and handed on as a file object, not read into memory."""

from __future__ import annotations

import asyncio
import re

import pytest
from starlette.requests import Request

from services.portal.uploads import MULTIPART_OVERHEAD, SPOOL_IN_MEMORY, read_upload
from tests.unit.portal.services_double import APPLICATION_ID, ServicesDouble, portal_with

UPLOAD = f"/applications/{APPLICATION_ID}/materials/id_card"
PUT = f"/v1/dossiers/{APPLICATION_ID}/materials/id_card"
SCRIPTED = {"X-Requested-With": "XMLHttpRequest"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _documents() -> ServicesDouble:
    services = ServicesDouble()
    services.answer("GET", "enrollment", f"/v1/applications/{APPLICATION_ID}", body={"status": "awaiting_documents"})
    services.answer("GET", "documents", f"/v1/dossiers/{APPLICATION_ID}",
                    body={"materials": [{"material": "id_card", "status": "missing"}]})
    services.answer("PUT", "documents", PUT, 201, {"material": "id_card", "status": "received"})
    return services


def _post(client, content: bytes = PNG, *, csrf: str | None = "csrf-of-the-test", headers: dict | None = None,
          name: str = "scan.png", kind: str = "image/png"):
    return client.post(UPLOAD, data={} if csrf is None else {"csrf": csrf}, files={"file": (name, content, kind)},
                       headers=headers or {}, follow_redirects=False)


def _error_beside_the_file(html: str) -> str:
    return re.search(r'id="err-id_card"[^>]*>([^<]*)<', html).group(1)


def _puts(services: ServicesDouble) -> list:
    return [call for call in services.calls if call[0] == "PUT"]


def test_the_checklist_loads_the_upload_script_and_gives_it_its_texts_in_the_pages_language():
    html = portal_with(_documents()).get(f"/applications/{APPLICATION_ID}").text
    assert '<script src="/static/upload.js" defer></script>' in html
    form = re.search(r"<form[^>]*data-upload[^>]*>", html).group(0)
    assert f'action="{UPLOAD}"' in form and 'enctype="multipart/form-data"' in form
    assert 'data-uploading="正在上传：{percent}%"' in form
    assert 'data-failed="上传未能完成，请检查网络连接后重试。"' in form
    assert '<progress id="progress-id_card" class="upload-progress" max="100" value="0" aria-label="上传进度" hidden>' \
        in html
    assert '<p id="upload-status-id_card" class="upload-status" role="status" aria-live="polite"></p>' in html


def test_a_plain_upload_is_sent_on_to_documents_and_redirected_to_the_checklist():
    services = _documents()
    response = _post(portal_with(services))
    assert response.status_code == 303
    assert response.headers["location"] == f"/applications/{APPLICATION_ID}"
    assert services.files == [("file", "scan.png", PNG, "image/png", False)]


def test_the_scripted_upload_gets_the_redirect_as_a_location_with_the_session_kept():
    services = _documents()
    response = _post(portal_with(services), headers=SCRIPTED)
    assert response.status_code == 200
    assert response.json() == {"location": f"/applications/{APPLICATION_ID}"}
    assert response.headers["cache-control"] == "no-store"
    assert "shebao_session=" in response.headers["set-cookie"]
    assert services.files == [("file", "scan.png", PNG, "image/png", False)]


@pytest.mark.parametrize("headers", [{}, SCRIPTED], ids=["plain", "scripted"])
@pytest.mark.parametrize("csrf", [None, "forged"])
def test_an_upload_without_the_forms_csrf_token_is_refused_either_way(headers, csrf):
    services = _documents()
    response = _post(portal_with(services), csrf=csrf, headers=headers)
    assert response.status_code == 403
    assert _puts(services) == []


def test_a_file_over_the_limit_is_refused_by_the_portal_with_documents_own_size_error():
    services = _documents()
    client = portal_with(services, max_upload_bytes=1000)
    refused_here = _post(client, PNG + b"\x00" * 1000)
    assert refused_here.status_code == 413
    assert _puts(services) == []  # documents never sees it

    services.refuse("PUT", "documents", PUT, 413, "file_too_large",
                    {"field": "body.file", "reason": "a file may have at most 1000 bytes"})
    refused_there = _post(portal_with(services, max_upload_bytes=10_000), PNG + b"\x00" * 1000)
    assert refused_there.status_code == 413 and len(_puts(services)) == 1
    assert _error_beside_the_file(refused_here.text) == _error_beside_the_file(refused_there.text) == "文件过大。"
    assert 'aria-describedby="err-id_card"' in refused_here.text


def test_the_limit_is_documents_own_setting_unless_the_portal_is_given_one(monkeypatch):
    from services.portal.settings import PortalSettings

    assert PortalSettings().max_upload_bytes == 10 * 1024 * 1024
    monkeypatch.setenv("SHEBAO_DOCUMENTS_MAX_UPLOAD_BYTES", "2048")
    assert PortalSettings().max_upload_bytes == 2048
    monkeypatch.setenv("SHEBAO_PORTAL_MAX_UPLOAD_BYTES", "4096")
    assert PortalSettings().max_upload_bytes == 4096


@pytest.mark.parametrize("refusal", [
    (413, "file_too_large", {"field": "body.file", "reason": "a file may have at most 10 bytes"}),
    (415, "unsupported_file_type", {"field": "body.file", "reason": "the file's bytes are not JPEG, PNG, PDF"}),
], ids=["size", "type"])
def test_a_refusal_is_the_same_page_with_the_same_error_beside_the_field_plain_or_scripted(refusal):
    status, code, problem = refusal
    services = _documents()
    services.refuse("PUT", "documents", PUT, status, code, problem)
    client = portal_with(services, language="en")
    plain, scripted = _post(client), _post(client, headers=SCRIPTED)
    assert plain.status_code == scripted.status_code == status
    assert plain.text == scripted.text
    assert plain.headers["content-type"].startswith("text/html")
    assert _error_beside_the_file(plain.text) in ("The file is too large.", "Only JPEG, PNG or PDF files are accepted.")
    # the language chooser of the re-rendered page comes back to the checklist, not to the POST address
    assert f'name="next" value="/applications/{APPLICATION_ID}"' in plain.text


def test_no_file_chosen_asks_for_one():
    services = _documents()
    response = _post(portal_with(services, language="en"), b"", name="", kind="application/octet-stream")
    assert response.status_code == 422
    assert _error_beside_the_file(response.text) == "Choose a file."
    assert _puts(services) == []


def test_a_file_larger_than_the_memory_spool_is_handed_on_as_a_file_object():
    services = _documents()
    big = PNG + bytes(range(256)) * (SPOOL_IN_MEMORY // 256 + 10)
    assert _post(portal_with(services), big).status_code == 303
    [(_, filename, content, _, as_bytes)] = services.files
    assert (filename, content, as_bytes) == ("scan.png", big, False)


# --- the reader itself, on a body streamed in chunks -----------------------------------------

BOUNDARY = "portal-test-boundary"


def _body(file_bytes: bytes, csrf: str = "tok") -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n").encode() + file_bytes + f"\r\n--{BOUNDARY}--\r\n".encode()


def _read(body: bytes, limit: int, *, declared: int | None = None, chunk: int = 4096):
    """read_upload over ``body`` sent in chunks; the form and the number of bytes the reader took."""
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    taken = 0

    async def receive() -> dict:
        nonlocal taken
        if chunks:
            part = chunks.pop(0)
            taken += len(part)
            return {"type": "http.request", "body": part, "more_body": bool(chunks)}
        return {"type": "http.request", "body": b"", "more_body": False}

    headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
               (b"content-length", str(len(body) if declared is None else declared).encode())]
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""},
                      receive)
    form = asyncio.run(read_upload(request, limit))
    return form, taken


def test_the_reader_keeps_the_fields_and_the_file_within_the_limit():
    form, _ = _read(_body(PNG), limit=len(PNG))
    assert (form.get("csrf"), form.filename, form.content_type, form.size) == ("tok", "a.png", "image/png", len(PNG))
    assert not form.too_large and not form.malformed
    assert form.file.read() == PNG
    form.close()


def test_the_reader_drops_a_file_as_soon_as_it_passes_the_limit_and_still_reads_the_body_to_its_end():
    body = _body(PNG * 100)
    form, taken = _read(body, limit=1000)
    assert form.too_large and form.file is None
    assert form.get("csrf") == "tok"  # the CSRF check still applies
    assert taken == len(body)  # drained, so the browser reads the answer instead of a reset


def test_a_body_declared_too_large_for_the_limit_keeps_nothing_of_the_file():
    body = _body(PNG)
    form, taken = _read(body, limit=10, declared=10 + MULTIPART_OVERHEAD + 1)
    assert form.too_large and form.file is None and form.get("csrf") == "tok"
    assert taken == len(body)


def test_a_body_that_is_not_a_well_formed_multipart_form_is_malformed():
    form, _ = _read(_body(PNG)[:-10], limit=10_000)  # no closing boundary
    assert form.malformed and form.file is None

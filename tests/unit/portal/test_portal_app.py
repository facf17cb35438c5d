"""The portal without the platform: CSRF, CSP, languages, the development sign-in's refusal in
production, and the OIDC claim mapping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import services.portal
from services.portal.app import create_app
from services.portal.caseworker import mask_id
from services.portal.i18n import choose_language, translations
from services.portal.oidc import ClaimsRefused, principal_from_claims
from services.portal.settings import PortalSettings
from shared.auth import decode_token
from shared.identity import person_id_for
from tooling.journey import a_resident_id_number


def _client(**settings) -> TestClient:
    return TestClient(create_app(PortalSettings(cookie_secure=False, **settings)), base_url="http://127.0.0.1")


def _csrf(client: TestClient, path: str = "/signin") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_every_page_carries_a_content_security_policy_and_a_signed_httponly_session_cookie():
    client = TestClient(create_app(PortalSettings()), base_url="https://portal.example")
    response = client.get("/signin")
    assert response.status_code == 200
    directives = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))
    assert directives == {
        "default-src": "'self'", "img-src": "'self' data:", "style-src": "'self'",
        "script-src": "'self'",  # the portal's own static/upload.js: no inline script, no eval
        "object-src": "'self'", "frame-src": "'self'", "frame-ancestors": "'self'", "form-action": "'self'",
        "base-uri": "'none'"}
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_the_upload_script_is_a_static_file_of_the_portal_and_no_template_has_inline_script():
    client = _client()
    script = client.get("/static/upload.js")
    assert script.status_code == 200
    assert script.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "XMLHttpRequest" in script.text and "eval(" not in script.text and "new Function" not in script.text
    for template in (Path(services.portal.__file__).parent / "templates").glob("*.html"):
        html = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.fullmatch(r'<script src="/static/[\w.-]+\.js" defer>', tag), (template.name, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), f"inline script in {template.name}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"an inline event handler in {template.name}"
        assert "javascript:" not in html


def test_a_form_without_its_csrf_token_is_refused_with_403():
    client = _client()
    assert client.post("/signin/dev", data={"role": "caseworker", "region": "110000"}).status_code == 403
    assert client.post("/signin/dev", data={"role": "caseworker", "region": "110000", "csrf": "forged"}
                       ).status_code == 403


def test_development_sign_in_mints_the_platform_token_of_the_resident():
    client = _client()
    id_number = a_resident_id_number()
    response = client.post("/signin/dev", data={"role": "resident", "id_number": id_number, "region": "110000",
                                                "csrf": _csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    session = client.app.state.sessions.load(client.cookies.get("shebao_session"))
    settings = PortalSettings()
    principal = decode_token(session["user"]["token"], secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    assert principal.sub == str(person_id_for(id_number)) and principal.role == "resident"
    assert id_number not in client.cookies.get("shebao_session")


def test_development_sign_in_shows_a_bad_id_number_beside_the_field():
    client = _client()
    response = client.post("/signin/dev", data={"role": "resident", "id_number": "12345", "region": "110000",
                                                "csrf": _csrf(client)}, headers={"accept-language": "en"})
    assert response.status_code == 422
    assert 'id="id_number-error"' in response.text


def test_development_sign_in_is_refused_in_production():
    client = _client(environment="production")
    assert "/signin/dev" not in client.get("/signin").text
    response = client.post("/signin/dev", data={"role": "caseworker", "region": "110000", "csrf": "x"})
    assert response.status_code == 403


def test_language_comes_from_the_choice_then_the_browser():
    assert choose_language("en", "zh-CN,zh;q=0.9") == "en"
    assert choose_language(None, "en-US,en;q=0.9") == "en"
    assert choose_language(None, "zh-TW") == "zh-CN"
    assert choose_language("fr", None) == "zh-CN"
    assert translations("zh-CN").gettext("Bills") == "账单"
    assert translations("en").gettext("Bills") == "Bills"


def test_the_chosen_language_is_kept_in_a_cookie():
    client = _client()
    response = client.post("/language", data={"lang": "en", "next": "/verify", "csrf": _csrf(client)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/verify"
    assert "Verify a payment voucher" in client.get("/verify").text
    client.cookies.set("lang", "zh-CN")
    assert "核验缴费凭证" in client.get("/verify").text


def test_pages_of_residents_send_the_anonymous_to_sign_in():
    client = _client()
    for path in ("/apply", "/bills", "/statement", "/inbox", "/review", "/person"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_an_id_number_is_masked():
    assert mask_id("110105199001010021") == "110***********0021"


SETTINGS = PortalSettings(oidc_issuer="https://id.example", oidc_client_id="portal")


def test_oidc_claims_of_a_resident_map_to_their_person():
    who = principal_from_claims({"sub": "idp-1", "shebao_role": "resident", "shebao_region": "110000",
                                 "shebao_person_id": "3f2b6c1e-0000-4000-8000-000000000001"}, SETTINGS)
    assert (who.sub, who.role, who.region) == ("3f2b6c1e-0000-4000-8000-000000000001", "resident", "110000")


def test_oidc_claims_of_a_caseworker_keep_the_provider_subject():
    who = principal_from_claims({"sub": "cw-7", "shebao_role": "caseworker", "shebao_region": "110105"}, SETTINGS)
    assert (who.sub, who.role, who.region) == ("cw-7", "caseworker", "110105")


@pytest.mark.parametrize("claims", [
    {"sub": "x", "shebao_role": "channel", "shebao_region": "110000"},
    {"sub": "x", "shebao_role": "wizard", "shebao_region": "110000"},
    {"sub": "x", "shebao_role": "caseworker", "shebao_region": "11"},
    {"sub": "x", "shebao_role": "resident", "shebao_region": "110000"},
])
def test_oidc_claims_that_name_no_acceptable_person_are_refused(claims):
    with pytest.raises(ClaimsRefused):
        principal_from_claims(claims, SETTINGS)


def test_in_production_the_portal_wants_a_session_secret_and_an_oidc_issuer():
    assert PortalSettings().production_problems() == []
    problems = PortalSettings(environment="production").production_problems()
    assert len(problems) == 2
    ready = PortalSettings(environment="production", session_secret="s" * 40, oidc_issuer="https://id.example",
                           oidc_client_id="portal")
    assert ready.production_problems() == []

"""A service's refusal on a zh-CN page: the catalog's Chinese for a rule or code it knows, the
service's own words for one it does not."""

from __future__ import annotations

import re

from services.portal.backend import Answer
from services.portal.i18n import translations
from services.portal.service_errors import reason
from tests.unit.portal.services_double import APPLICATION_ID, ServicesDouble, portal_with

TOO_YOUNG = {"field": "body.id_number", "rule": "minimum_age", "reason": "the applicant must be at least 16 years old"}
UNHEARD_OF = {"field": "body.declared_base", "rule": "a_rule_of_next_year",
              "reason": "the base must be a multiple of ten yuan"}
APPLICATION = {"id_number": "110105199001010021", "name": "Li Hua", "phone": "13812345678", "csrf": "csrf-of-the-test",
               "programmes": ["pension"], "declared_base": "7162.00", "frequency": "monthly"}


def _error_beside(html: str, field: str) -> str:
    return re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html).group(1)


def _refused_application() -> ServicesDouble:
    services = ServicesDouble()
    services.refuse("POST", "enrollment", "/v1/applications", 422, "validation_error", TOO_YOUNG, UNHEARD_OF)
    return services


def test_an_eligibility_rule_the_catalog_knows_is_shown_in_chinese_and_an_unknown_one_as_the_service_said():
    page = portal_with(_refused_application()).post("/apply", data=APPLICATION)
    assert page.status_code == 422
    assert _error_beside(page.text, "id_number") == "申请人须年满16周岁。"
    assert _error_beside(page.text, "declared_base") == "the base must be a multiple of ten yuan"


def test_an_english_page_shows_the_services_own_english_reason():
    page = portal_with(_refused_application(), language="en").post("/apply", data=APPLICATION)
    assert _error_beside(page.text, "id_number") == "the applicant must be at least 16 years old"


def test_a_busy_service_is_explained_as_busy_not_in_its_technical_words():
    """``503 service_busy`` (a service past its requests in flight, or its database connections):
    the reader is told to try again in a moment, in their language, on the form as they filled it."""
    services = ServicesDouble()
    services.refuse("POST", "enrollment", "/v1/applications", 503, "service_busy",
                    {"reason": "the service is busy: it is already serving 32 requests; try again shortly"})
    zh_page = portal_with(services).post("/apply", data=APPLICATION)
    en_page = portal_with(services, language="en").post("/apply", data=APPLICATION)

    assert 'value="Li Hua"' in zh_page.text
    assert "当前办理人数较多，请稍后再试。" in zh_page.text and "32 requests" not in zh_page.text
    assert "Many people are using the service right now; please try again in a moment." in en_page.text


def _refused_upload(status: int, code: str, reason_text: str) -> str:
    services = ServicesDouble()
    services.answer("GET", "documents", f"/v1/dossiers/{APPLICATION_ID}",
                    body={"materials": [{"material": "id_card", "status": "missing"}]})
    services.refuse("PUT", "documents", f"/v1/dossiers/{APPLICATION_ID}/materials/id_card", status, code,
                    {"field": "body.file", "reason": reason_text})
    page = portal_with(services).post(f"/applications/{APPLICATION_ID}/materials/id_card",
                                      data={"csrf": "csrf-of-the-test"},
                                      files={"file": ("scan.png", b"\x89PNG\r\n\x1a\n", "image/png")})
    assert page.status_code == status
    return re.search(r'id="err-id_card"[^>]*>([^<]*)<', page.text).group(1)


def test_an_upload_refused_for_a_known_code_is_explained_in_chinese():
    assert _refused_upload(413, "file_too_large", "a file may have at most 10485760 bytes") == "文件过大。"
    assert _refused_upload(415, "unsupported_file_type", "the file's bytes are not JPEG, PNG, PDF") \
        == "仅接受 JPEG、PNG 或 PDF 文件。"


def test_an_upload_refused_for_a_code_the_portal_does_not_know_shows_the_services_text():
    shown = _refused_upload(422, "malware_found", "the file failed the malware scan")
    assert shown == "the file failed the malware scan"


def test_a_rule_is_more_specific_than_the_field_and_the_field_than_the_code():
    zh = translations("zh-CN").gettext
    assert reason({"field": "body.phone", "rule": "minimum_age", "reason": "x"}, "validation_error", zh) \
        == "申请人须年满16周岁。"
    assert reason({"field": "body.phone", "reason": "String should match pattern"}, "validation_error", zh) \
        == "请输入有效的11位手机号码。"
    unreachable = {"reason": "enrollment is unreachable: ConnectError"}
    assert reason(unreachable, "unavailable", zh) == "服务暂时不可用，请稍后再试。"
    assert Answer(409, {"error": "conflict", "detail": []}).code == "conflict"

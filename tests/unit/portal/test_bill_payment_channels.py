"""The bill page's way to pay: the simulated channel locally, the configured channels in production."""

from __future__ import annotations

import re

from services.portal.settings import PortalSettings
from tests.unit.portal.services_double import PERSON_ID, ServicesDouble, portal_with

OPEN_BILL = {
    "bill_id": "b-1", "first_month": "2026-12", "months": 1, "status": "open", "due_date": "2026-12-15",
    "lines": [{"programme": "pension", "month": "2026-12", "amount": "1432.40"}],
    "total": "1432.40", "paid": "0.00", "late_fee_to_date": "0.00", "outstanding": "1432.40",
}


def _an_open_bill() -> ServicesDouble:
    services = ServicesDouble()
    services.answer("GET", "billing", f"/v1/persons/{PERSON_ID}/bills", body={"bills": [OPEN_BILL]})
    return services


def _channels_shown(html: str) -> list[str]:
    return re.findall(r'<li class="card channel" id="channel-\d+"><h3>([^<]+)</h3>', html)


def test_locally_the_bill_offers_the_simulated_payment_and_no_channel_list():
    page = portal_with(_an_open_bill(), language="en").get("/bills/b-1")
    assert page.status_code == 200
    assert 'href="/pay/b-1"' in page.text
    assert 'id="payment-channels"' not in page.text


def test_in_production_the_bill_says_how_to_pay_through_each_configured_channel_in_chinese():
    portal = portal_with(_an_open_bill(), environment="production",
                         payment_channels=["unionpay", "bank_counter", "工行网银"])
    page = portal.get("/bills/b-1")
    assert page.status_code == 200
    assert _channels_shown(page.text) == ["银联云闪付", "银行柜台", "工行网银"]
    assert "云闪付App" in page.text and "请通过工行网银缴费" in page.text  # the steps of each
    assert "/pay/" not in page.text


def test_in_production_the_channels_are_explained_in_english_to_an_english_reader():
    portal = portal_with(_an_open_bill(), language="en", environment="production", payment_channels=["alipay"])
    page = portal.get("/bills/b-1")
    assert _channels_shown(page.text) == ["Alipay"]
    assert "Citizen Centre" in page.text


def test_in_production_the_simulated_payment_cannot_be_reached_by_its_address():
    services = _an_open_bill()
    portal = portal_with(services, environment="production")
    assert portal.get("/pay/b-1").status_code == 404
    assert portal.post("/pay/b-1", data={"csrf": "csrf-of-the-test"}).status_code == 404
    assert not [call for call in services.calls if call[2] == "/v1/payments"]


def test_the_channels_are_read_comma_separated_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHEBAO_PORTAL_PAYMENT_CHANNELS", "wechat_pay, tax_app,工行网银")
    assert PortalSettings().payment_channels == ["wechat_pay", "tax_app", "工行网银"]


def test_a_production_portal_without_a_payment_channel_refuses_to_start():
    ready = {"session_secret": "s" * 40, "oidc_issuer": "https://id.example", "oidc_client_id": "portal"}
    assert PortalSettings(environment="production", **ready).production_problems() == []
    problems = PortalSettings(environment="production", payment_channels=[], **ready).production_problems()
    assert [p for p in problems if "SHEBAO_PORTAL_PAYMENT_CHANNELS" in p]

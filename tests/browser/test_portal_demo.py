"""``make demo PORTAL=1`` end to end: the portal journey of tooling/portal_journey.py (httpx on
the portal's forms, no browser) against the platform and portal of the browser tests."""

from __future__ import annotations

import re

import pytest

from tooling.portal_journey import portal_journey

pytestmark = pytest.mark.e2e


def test_the_portal_demo_takes_a_resident_from_applying_to_a_voucher_the_public_page_finds_valid(portal_url, client):
    told: list[str] = []
    seen = portal_journey(portal_url, client, say=told.append)
    assert seen["voucher_valid"] is True
    assert "有效" in seen["verified_text"]  # the public page, read in Chinese
    assert seen["bill_total"] == "2017.32"
    assert seen["verify_link"] == f"{portal_url}/verify/{seen['voucher_no']}"
    assert seen["voucher_no"] in told[-1] and "valid" in told[-1]
    assert not re.search(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])", "\n".join(told)), "an ID number printed in clear"

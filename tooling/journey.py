"""A client of the running platform that acts as its people do — a resident, a caseworker,
a payment channel, an operator and an administrator — only through the public HTTP APIs.

The end-to-end tests and ``make demo`` both drive the platform through it, so the demo shows
exactly what the tests check. Tokens are minted locally with the platform's JWT secret.
"""

from __future__ import annotations

import random
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.auth import mint_token
from shared.identity import person_id_for
from shared.periods import Month, business_date, now_utc
from shared.resident_id import check_character
from shared.settings import DEFAULT_PORTS, Settings

MATERIALS = ("id_card", "household_register", "social_security_card", "work_unit_certificate")


class JourneyError(AssertionError):
    """The platform did not do what the journey expected within the time allowed."""


def a_resident_id_number(region: str = "110105", *, born: date | None = None, female: bool = True) -> str:
    """A valid, random resident ID number (GB 11643-1999) of someone born in ``region``."""
    born = born or date(1990, 1, 1) + timedelta(days=random.randrange(3650))
    sequence = random.randrange(0, 999, 2) if female else random.randrange(1, 999, 2)
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def sample_files() -> dict[str, tuple[str, bytes, str]]:
    """Small real files for the four materials: name, bytes, content type."""
    return {
        "id_card": ("id-card.png", _png(), "image/png"),
        "household_register": ("hukou.pdf", _pdf("Household register, holder's page"), "application/pdf"),
        "social_security_card": ("ss-card.jpg", _jpeg(), "image/jpeg"),
        "work_unit_certificate": ("certificate.pdf", _pdf("Certificate of past employment"), "application/pdf"),
    }


@dataclass
class Platform:
    """Where the four services listen, and the secret their tokens are signed with."""

    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    jwt_secret: str = Settings().jwt_secret
    jwt_issuer: str = Settings().jwt_issuer
    region: str = "110000"
    timeout_s: float = 30.0

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def headers(self, role: str, sub: str | uuid.UUID | None = None, region: str | None = None) -> dict:
        token = mint_token(sub=str(sub or f"{role}-1"), role=role, region=region or self.region,
                           secret=self.jwt_secret, issuer=self.jwt_issuer)
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, *, role: str, sub=None, expect=(200, 201, 202),
             **kwargs) -> Any:
        """One HTTP call; fails with the response body when the status is not expected."""
        response = httpx.request(method, self.url(service, path), headers=self.headers(role, sub),
                                 timeout=self.timeout_s, **kwargs)
        if response.status_code not in expect:
            raise JourneyError(f"{method} {service}{path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def wait_for(self, what: str, check: Callable[[], Any], timeout_s: float | None = None) -> Any:
        """Poll ``check`` until it returns something truthy."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise JourneyError(f"timed out waiting for {what}; last seen: {value!r}")
            time.sleep(0.2)


@dataclass
class Resident:
    """One person going through the platform, and what the platform told them so far."""

    platform: Platform
    id_number: str
    name: str = "Li Hua"
    phone: str = "13812345678"
    email: str | None = "li.hua@example.cn"
    language: str = "en"
    application_id: str | None = None

    @property
    def person_id(self) -> uuid.UUID:
        return person_id_for(self.id_number)

    def as_me(self, method: str, service: str, path: str, **kwargs) -> Any:
        return self.platform.call(method, service, path, role="resident", sub=self.person_id, **kwargs)

    def apply(self, programmes: list[str], declared_base: str, frequency: str = "monthly") -> dict:
        """Apply, retrying while enrollment has not yet heard the region's policies."""
        body = {
            "id_number": self.id_number, "name": self.name, "phone": self.phone, "email": self.email,
            "language": self.language, "region": self.platform.region, "programmes": programmes,
            "declared_base": declared_base, "frequency": frequency,
        }

        def submit():
            response = httpx.post(self.platform.url("enrollment", "/v1/applications"), json=body,
                                  headers=self.platform.headers("resident", self.person_id), timeout=30)
            if response.status_code == 422 and "not_offered" in response.text:
                return None
            if response.status_code != 202:
                raise JourneyError(f"application refused: {response.status_code} {response.text}")
            return response.json()

        submitted = self.platform.wait_for("the region's policies to reach enrollment", submit)
        self.application_id = submitted["application_id"]
        return submitted

    def dossier(self) -> dict:
        return self.platform.wait_for("the dossier to open", lambda: self._dossier_or_none())

    def _dossier_or_none(self) -> dict | None:
        response = httpx.get(self.platform.url("documents", f"/v1/dossiers/{self.application_id}"),
                             headers=self.platform.headers("resident", self.person_id), timeout=30)
        return response.json() if response.status_code == 200 else None

    def upload(self, material: str, file: tuple[str, bytes, str]) -> dict:
        return self.as_me("PUT", "documents", f"/v1/dossiers/{self.application_id}/materials/{material}",
                          files={"file": file})

    def enrollments(self) -> list[dict]:
        return self.as_me("GET", "enrollment", f"/v1/persons/{self.person_id}/enrollments")["enrollments"]

    def wait_for_enrollments(self, status: str, count: int) -> list[dict]:
        def matching():
            found = [e for e in self.enrollments() if e["status"] == status]
            return found if len(found) >= count else None

        return self.platform.wait_for(f"{count} {status} enrolment(s)", matching)

    def bills(self, status: str | None = None) -> list[dict]:
        query = f"?status={status}" if status else ""
        return self.as_me("GET", "billing", f"/v1/persons/{self.person_id}/bills{query}")["bills"]

    def wait_until_billing_knows_me(self, programmes: int) -> None:
        """Billing learns of enrolments from events: wait until its account has them all."""

        def known():
            response = httpx.get(self.platform.url("billing", f"/v1/persons/{self.person_id}/statement"),
                                 headers=self.platform.headers("resident", self.person_id), timeout=30)
            if response.status_code != 200:
                return None
            return len(response.json().get("enrolments", [])) >= programmes

        self.platform.wait_for("billing to open the contribution account", known)

    def wait_for_bills(self, count: int) -> list[dict]:
        def enough():
            bills = self.bills()
            return bills if len(bills) >= count else None

        return self.platform.wait_for(f"{count} bill(s)", enough)

    def statement(self) -> dict:
        return self.as_me("GET", "billing", f"/v1/persons/{self.person_id}/statement")

    def inbox(self) -> list[dict]:
        return self.as_me("GET", "notifications", f"/v1/persons/{self.person_id}/notifications")["notifications"]

    def wait_for_notice(self, template: str, count: int = 1) -> list[dict]:
        def found():
            notices = [n for n in self.inbox() if n["template"] == template]
            return notices if len(notices) >= count else None

        return self.platform.wait_for(f"notice {template}", found)


@dataclass
class Caseworker:
    platform: Platform

    def review_all(self, application_id: str, decide: Callable[[dict], dict] | None = None) -> list[dict]:
        """Review every waiting document of the application (approve unless ``decide`` says otherwise)."""
        dossier = self.platform.call("GET", "documents", f"/v1/dossiers/{application_id}", role="caseworker")
        reviewed = []
        for item in dossier["materials"]:
            document_id = item.get("document_id")
            if item["status"] != "received" or document_id is None:
                continue
            body = decide(item) if decide else {"decision": "approve"}
            self.platform.call("POST", "documents", f"/v1/documents/{document_id}/review", role="caseworker",
                               json=body)
            reviewed.append({"material": item["material"], **body})
        return reviewed


@dataclass
class Operator:
    platform: Platform

    def billing_run(self, as_of: date) -> dict:
        return self.platform.call("POST", "billing", "/v1/ops/billing-run", role="ops", json={"as_of": str(as_of)})

    def overdue_scan(self, as_of: date) -> dict:
        return self.platform.call("POST", "billing", "/v1/ops/overdue-scan", role="ops", json={"as_of": str(as_of)})

    def reminder_scan(self, as_of: date) -> dict:
        return self.platform.call("POST", "notifications", "/v1/ops/reminder-scan", role="ops",
                                  json={"as_of": str(as_of)})


@dataclass
class PaymentChannel:
    platform: Platform
    name: str = "unionpay"

    def pay(self, person_id: uuid.UUID, amount: Decimal | str, *, paid_at=None) -> dict:
        body = {"person_id": str(person_id), "amount": str(amount), "channel": self.name,
                "channel_txn_id": f"TXN-{uuid.uuid4().hex[:16]}", "paid_at": (paid_at or now_utc()).isoformat()}
        return self.platform.call("POST", "billing", "/v1/payments", role="channel", sub=self.name, json=body)

    def verify(self, voucher_no: str) -> dict:
        return self.platform.call("GET", "billing", f"/v1/vouchers/{voucher_no}/verify", role="channel")


def billing_date_for(start_month: str, today: date, horizon_days: int = 10) -> date:
    """A billing-run date that issues the bill of a cycle starting in ``start_month``."""
    return max(today, Month.parse(start_month).first_day - timedelta(days=horizon_days))


def today_in_region(platform: Platform) -> date:
    return business_date(now_utc())


def enrol_resident(platform: Platform, say: Callable[[str], None] = print, *, language: str = "en",
                   programmes: tuple[str, ...] = ("pension", "medical_employee")) -> tuple[Resident, list[dict]]:
    """Apply, hand in the four materials, have a caseworker approve them, and wait until the
    enrolments are active and billing has opened the contribution account."""
    resident = Resident(platform, a_resident_id_number(), language=language)
    submitted = resident.apply(list(programmes), "7162.00")
    say(f"enrollment    application {submitted['application_id']} for person {submitted['person_id']}"
        f" is {submitted['status']}")
    dossier = resident.dossier()
    say(f"documents     dossier opened; required: {', '.join(m['material'] for m in dossier['materials'])}")
    required = {item["material"] for item in dossier["materials"]}
    for material, file in sample_files().items():
        if material in required:
            uploaded = resident.upload(material, file)
            say(f"documents     received {material}: {uploaded['content_type']}, {uploaded['size']} bytes,"
                f" sha256 {uploaded['sha256'][:12]}…")
    reviewed = Caseworker(platform).review_all(resident.application_id)
    say(f"documents     caseworker approved {len(reviewed)} materials → DocumentsVerified")
    enrollments = resident.wait_for_enrollments("active", len(programmes))
    for enrollment in enrollments:
        say(f"enrollment    {enrollment['programme']} active from {enrollment['start_month']},"
            f" base {enrollment['base']}, {enrollment['frequency']}")
    resident.wait_until_billing_knows_me(len(enrollments))
    return resident, enrollments


def resident_journey(platform: Platform, say: Callable[[str], None] = print) -> dict:
    """Journey 1: apply → materials → approval → enrolments → bill → reminder → payment →
    voucher → statement → inbox. Returns what each step produced."""
    operator, channel = Operator(platform), PaymentChannel(platform)
    resident, enrollments = enrol_resident(platform, say)
    seen: dict[str, Any] = {"person_id": str(resident.person_id), "enrollments": enrollments}

    run_date = billing_date_for(enrollments[0]["start_month"], today_in_region(platform))
    operator.billing_run(run_date)
    [bill] = resident.wait_for_bills(1)
    seen["bill"] = bill
    lines = ", ".join(f"{line['programme']} {line['month']} {line['amount']}" for line in bill["lines"])
    say(f"billing       bill {bill['bill_id']} total {bill['total']} due {bill['due_date']} ({lines})")

    resident.wait_for_notice("bill_issued")
    due = date.fromisoformat(bill["due_date"])
    reminders = operator.reminder_scan(due - timedelta(days=7))
    say(f"notifications reminder scan for {due - timedelta(days=7)}: {reminders['reminders']} reminder(s)")
    resident.wait_for_notice("payment_reminder_7d")

    payment = channel.pay(resident.person_id, bill["total"])
    seen["payment"] = payment
    say(f"billing       payment {payment['payment_id']} of {payment['amount']} → voucher {payment['voucher_no']}")
    verified = channel.verify(payment["voucher_no"])
    seen["voucher_valid"] = verified["valid"]
    say(f"billing       voucher {payment['voucher_no']} signature valid: {verified['valid']}")

    statement = platform.wait_for("the payment in the statement", lambda: _paid_statement(resident))
    seen["statement"] = statement
    say(f"billing       statement: pension personal account {statement['pension_personal_account']},"
        f" contribution years {statement['total_contribution_years']}")

    resident.wait_for_notice("payment_received")
    inbox = resident.inbox()
    seen["inbox"] = inbox
    for notice in reversed(inbox):
        say(f"notifications [{notice['template']}] {notice['title']}")
    return seen


def _paid_statement(resident: Resident) -> dict | None:
    statement = resident.statement()
    return statement if Decimal(str(statement.get("pension_personal_account") or "0")) > 0 else None


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _jpeg() -> bytes:
    # A 1×1 baseline JPEG (JFIF), the smallest well-formed kind.
    return bytes.fromhex(
        "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
        "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08000100010101"
        "1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504"
        "040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25"
        "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788"
        "898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3"
        "e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
    )


def main() -> int:
    """``make demo``: journey 1 against a running ``make run`` platform."""
    print("Shebao demo: one resident's journey through the four services (make run must be running)\n")
    try:
        resident_journey(Platform())
    except (JourneyError, httpx.HTTPError) as error:
        print(f"\ndemo failed: {error}")
        return 1
    print("\ndone.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Log lines are JSON, carry the service and event context, and never show personal data."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

import pytest
import structlog

from shared.logging import (
    bind_event_context,
    configure_logging,
    mask_personal_data,
    mask_text,
)

ID_NUMBER = "11010519491231002X"
MASKED_ID = "110105**********2X"
PHONE = "13812345678"
MASKED_PHONE = "138****5678"
PERSON_ID = "5f0c7a2e-8d1b-4e47-9a51-13812345678a"


@pytest.fixture
def logs(capsys):
    """Configure logging for 'billing' and hand back a reader of the lines written."""
    configure_logging("billing", level="DEBUG")

    def read() -> list[str]:
        return [line for line in capsys.readouterr().out.splitlines() if line.strip()]

    yield read
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_shebao_handler", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def json_lines(read) -> list[dict]:
    return [json.loads(line) for line in read()]


def assert_masked(text: str) -> None:
    assert ID_NUMBER not in text
    assert PHONE not in text
    assert MASKED_ID in text
    assert MASKED_PHONE in text


# --- the shape of a line -------------------------------------------------------------


def test_every_line_is_json_with_timestamp_level_and_service(logs):
    structlog.get_logger("billing.handlers").info("bill issued", total="1432.40")

    [line] = json_lines(logs)

    assert line["event"] == "bill issued"
    assert line["service"] == "billing"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert datetime.fromisoformat(line["timestamp"]).utcoffset().total_seconds() == 0


def test_bound_event_context_appears_on_every_line_inside_the_block(logs):
    log = structlog.get_logger()
    event_id = uuid.uuid4()

    with bind_event_context(event_id=event_id, correlation_id="corr-7"):
        log.info("handling")
        logging.getLogger("aiokafka").warning("rebalance")
    log.info("idle")

    handling, rebalance, idle = json_lines(logs)
    for line in (handling, rebalance):
        assert line["event_id"] == str(event_id)
        assert line["correlation_id"] == "corr-7"
    assert "event_id" not in idle and "correlation_id" not in idle


def test_stdlib_records_share_the_format_and_noisy_libraries_log_warnings_only(logs):
    logging.getLogger("aiokafka.consumer").info("fetching")
    logging.getLogger("faststream").warning("slow handler")
    logging.getLogger("services.billing").debug("own debug")

    lines = json_lines(logs)

    assert [line["event"] for line in lines] == ["slow handler", "own debug"]
    assert all(line["service"] == "billing" for line in lines)


def test_the_console_format_is_masked_too(capsys):
    configure_logging("billing", fmt="console")
    try:
        structlog.get_logger().info(f"applicant {ID_NUMBER}", phone=PHONE)
        out = capsys.readouterr().out
    finally:
        structlog.reset_defaults()
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_shebao_handler", False)]:
            root.removeHandler(handler)

    assert_masked(out)
    assert not out.lstrip().startswith("{")


# --- masking through the configured chain --------------------------------------------


def test_identity_and_phone_are_masked_in_the_message(logs):
    structlog.get_logger().info(f"application from {ID_NUMBER}, mobile {PHONE}")

    assert_masked("\n".join(logs()))


def test_identity_and_phone_are_masked_in_nested_values(logs):
    payload = {"applicant": {"documents": [{"number": ID_NUMBER}], "contacts": (PHONE,)}}

    structlog.get_logger().info("received", payload=payload, note=[f"call {PHONE}"])

    out = "\n".join(logs())
    assert_masked(out)
    assert payload["applicant"]["documents"][0]["number"] == ID_NUMBER, "caller's data untouched"


def test_identity_and_phone_are_masked_in_exception_tracebacks(logs):
    try:
        raise ValueError(f"person {ID_NUMBER} has no phone {PHONE}")
    except ValueError:
        structlog.get_logger().exception("enrolment failed")

    [line] = json_lines(logs)
    assert "Traceback" in line["exception"]
    assert_masked(line["exception"])


def test_stdlib_exceptions_and_arguments_are_masked(logs):
    try:
        raise RuntimeError(f"bad id {ID_NUMBER}")
    except RuntimeError:
        logging.getLogger("services.enrollment").exception("lookup of %s failed", PHONE)

    assert_masked("\n".join(logs()))


def test_personal_fields_are_masked_by_name(logs):
    structlog.get_logger().info(
        "contact", name="张三丰", email="zhang.san@example.cn", id_number=ID_NUMBER,
        contact={"phone": "010-62345678", "Full_Name": "Li Si"},
    )

    [line] = json_lines(logs)
    assert line["name"] == "张*"
    assert line["email"] == "z***@example.cn"
    assert line["id_number"] == MASKED_ID
    assert line["contact"] == {"phone": "***-****5678", "Full_Name": "L*"}


def test_ids_amounts_timestamps_and_regions_stay_intact(logs):
    person_id = uuid.UUID(PERSON_ID)

    structlog.get_logger().info(
        "paid", person_id=person_id, payment_id=str(uuid.uuid4()), amount="1432.40",
        paid_at="2025-03-01T08:00:00.123456+08:00", region="110000", total=1432.40,
    )

    [line] = json_lines(logs)
    assert line["person_id"] == PERSON_ID
    assert uuid.UUID(line["payment_id"])
    assert line["amount"] == "1432.40"
    assert line["paid_at"] == "2025-03-01T08:00:00.123456+08:00"
    assert line["region"] == "110000"
    assert line["total"] == 1432.40


# --- the processor on its own --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (ID_NUMBER, MASKED_ID),
        ("440524188001010014", "440524**********14"),
        ("身份证号11010519491231002X。", "身份证号110105**********2X。"),
        (PHONE, MASKED_PHONE),
        ("+86 13812345678", "+86 138****5678"),
        ("138-1234-5678", MASKED_PHONE),
        ("电话13812345678", "电话138****5678"),
    ],
)
def test_mask_text_masks_identity_and_mobile_numbers(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        PERSON_ID,
        "1432.40",
        "13812345678.50",
        "2025-03-01T08:00:00.123456+00:00",
        "110000",
        "1234567890123456789",  # 19 digits: not an ID number
        "a11010519491231002X",
        "1a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8",  # a sha256
    ],
)
def test_mask_text_leaves_other_numbers_alone(text):
    assert mask_text(text) == text


def test_the_processor_masks_keys_and_non_string_values():
    class Applicant:
        def __repr__(self) -> str:
            return f"Applicant({ID_NUMBER})"

        __str__ = __repr__

    out = mask_personal_data(None, "info", {"event": "x", "who": Applicant(), "mobile": 13812345678,
                                            PHONE: "by phone"})

    assert out == {"event": "x", "who": f"Applicant({MASKED_ID})", "mobile": MASKED_PHONE,
                   MASKED_PHONE: "by phone"}


def test_other_handlers_on_the_root_logger_get_masked_records_too(logs, caplog):
    structlog.get_logger().info("applicant", id_number=ID_NUMBER, note=f"call {PHONE}")

    [record] = caplog.records
    assert ID_NUMBER not in str(record.msg) and PHONE not in str(record.msg)


def test_masking_twice_changes_nothing():
    once = mask_personal_data(None, "info", {"event": f"{ID_NUMBER} {PHONE}", "name": "张三",
                                             "email": "a@b.cn", "phone": "010-62345678",
                                             "mobile": PHONE})

    assert mask_personal_data(None, "info", dict(once)) == once

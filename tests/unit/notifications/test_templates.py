"""Every notice renders in both languages from real events, money and dates worded for the
reader, and a template that needs a variable nobody gives fails here rather than in an SMS."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.notifications.domain.model import LANGUAGES, TEMPLATE_NAMES, Message
from services.notifications.domain.reminders import OpenBill
from services.notifications.domain.templates import (
    MissingVariable,
    email_text,
    render,
    sms_text,
    variables,
    wording_for,
)
from services.notifications.domain.templates.wording import fill
from shared.periods import DEFAULT_TZ

from .examples import (
    a_bill,
    a_certificate,
    a_payment,
    a_person,
    a_refund,
    a_reinstatement,
    a_repricing,
    a_suspension,
    a_termination,
    an_application,
    an_application_rejection,
    an_enrolment,
    an_overdue_notice,
    materials_rejected,
)

PERSON = a_person()
BILL = a_bill(PERSON, months=("2025-08", "2025-09", "2025-10"), due_date=date(2025, 8, 15))


def an_open_bill(paid: str = "1000.00") -> OpenBill:
    return OpenBill(bill_id=BILL.bill_id, person_id=PERSON, region=BILL.region, months=BILL.months,
                    total=BILL.total, paid_principal=Decimal(paid), due_date=BILL.due_date,
                    due_event_id=a_person(), correlation_id=a_person())


SAMPLES = {
    "application_received": variables.application_received(an_application(PERSON)),
    "materials_rejected": variables.materials_rejected(materials_rejected(PERSON)),
    "enrolment_active": variables.enrolment_active(an_enrolment(PERSON, programme="medical_employee",
                                                                waiting_until=date(2025, 10, 31))),
    "bill_issued": variables.bill_issued(BILL),
    "payment_reminder_7d": variables.payment_reminder(an_open_bill()),
    "payment_reminder_1d": variables.payment_reminder(an_open_bill()),
    "payment_received": variables.payment_received(a_payment(PERSON, late_fee="15.13", credit="100.00"), DEFAULT_TZ),
    "payment_overdue": variables.payment_overdue(an_overdue_notice(PERSON)),
    "coverage_suspended": variables.coverage_suspended(a_suspension(PERSON)),
    "coverage_reinstated": variables.coverage_reinstated(a_reinstatement(PERSON)),
    "policy_changed": variables.policy_changed(a_repricing(PERSON)),
    "application_rejected": variables.application_rejected(an_application_rejection(PERSON)),
    "coverage_terminated": variables.coverage_terminated(a_termination(PERSON)),
    "refund_issued": variables.refund_issued(a_refund(PERSON, credit="17.32")),
    "certificate_issued": variables.certificate_issued(a_certificate(PERSON)),
}

# (template, language) → what the reader must find in the text
EXPECTED = {
    ("application_received", "en"): ["basic pension, basic medical insurance (employee scheme)",
                                     "resident ID card (both sides)", "social security card (if one was issued)",
                                     "work-unit certificate"],
    ("application_received", "zh-CN"): ["基本养老保险、职工基本医疗保险", "居民身份证（正反面）", "户口簿（本人页）",
                                        "工作单位证明"],
    ("materials_rejected", "en"): ["resident ID card (both sides) (illegible: photo is blurred)",
                                   "work-unit certificate (proof of past employment or separation) (expired)"],
    ("materials_rejected", "zh-CN"): ["居民身份证（正反面）（无法辨认：photo is blurred）", "（已过期）"],
    ("enrolment_active", "en"): ["basic medical insurance (employee scheme) cover starts in August 2025",
                                 "¥7,162.00", "paid quarterly", "waiting period ending on 31 October 2025",
                                 "What happens next"],
    ("enrolment_active", "zh-CN"): ["自2025年8月起生效", "缴费基数7,162.00元", "按季度缴费", "等待期至2025年10月31日",
                                    "接下来"],
    ("bill_issued", "en"): ["August 2025 to October 2025", "¥6,051.96", "due by 15 August 2025",
                            "basic pension ¥4,297.20", "basic medical insurance (employee scheme) ¥1,754.76"],
    ("bill_issued", "zh-CN"): ["2025年8月至2025年10月", "共计6,051.96元", "请于2025年8月15日前缴纳",
                               "基本养老保险4,297.20元", "职工基本医疗保险1,754.76元"],
    ("payment_reminder_7d", "en"): ["¥5,051.96 of your contributions", "due on 15 August 2025, in 7 days"],
    ("payment_reminder_7d", "zh-CN"): ["尚有5,051.96元未缴", "将于2025年8月15日到期（还有7天）"],
    ("payment_reminder_1d", "en"): ["¥5,051.96", "due tomorrow, 15 August 2025"],
    ("payment_reminder_1d", "zh-CN"): ["尚有5,051.96元未缴", "将于明天（2025年8月15日）到期"],
    # paid at 16:30 UTC on 10 August is 00:30 on 11 August in Beijing
    ("payment_received", "en"): ["payment of ¥2,132.45 made on 11 August 2025, 00:30 via Alipay",
                                 "voucher number is SB2025081100042", "late fee of ¥15.13", "credit of ¥100.00"],
    ("payment_received", "zh-CN"): ["于2025年8月11日 00:30通过支付宝缴纳的2,132.45元", "缴费凭证号：SB2025081100042",
                                    "其中滞纳金15.13元", "余额100.00元"],
    ("payment_overdue", "en"): ["¥2,017.32 of your basic pension, basic medical insurance (employee scheme)",
                                "due on 15 August 2025", "30 days overdue", "late fee so far is ¥30.26"],
    ("payment_overdue", "zh-CN"): ["应于2025年8月15日缴纳", "尚有2,017.32元未缴", "已逾期30天", "滞纳金为30.26元"],
    ("coverage_suspended", "en"): ["suspended from 13 November 2025", "reason: overdue contributions"],
    ("coverage_suspended", "zh-CN"): ["因逾期未缴费", "自2025年11月13日起暂停"],
    ("coverage_reinstated", "en"): ["cover is active again", "waiting period ending on 31 March 2026"],
    ("coverage_reinstated", "zh-CN"): ["已恢复参保", "等待期至2026年3月31日"],
    ("policy_changed", "en"): ["from July 2026", "base changes from ¥7,162.00 to ¥7,500.00",
                               "monthly amount from ¥1,432.40 to ¥1,500.00"],
    ("application_rejected", "en"): ["not accepted: not resident in the region, already insured through an employer",
                                     "What to do: correct what is named and apply again"],
    ("application_rejected", "zh-CN"): ["未通过：not resident in the region、already insured", "更正后重新申请"],
    ("coverage_terminated", "en"): ["basic pension cover ended with March 2026", "reason: moved to an employer",
                                    "can be refunded"],
    ("coverage_terminated", "zh-CN"): ["基本养老保险已于2026年3月终止参保", "可申请退费"],
    ("refund_issued", "en"): ["refunded ¥582.68 to you via Alipay, UnionPay", "reason: paid twice",
                              "voucher number is 110000-2026-00000042", "remaining credit is ¥17.32"],
    ("refund_issued", "zh-CN"): ["通过支付宝、银联向您退费582.68元", "退费凭证号110000-2026-00000042",
                                 "账户余额17.32元"],
    ("certificate_issued", "en"): ["no. 110000-C2026-00000007 for January 2026 to December 2026",
                                   "basic pension, basic medical insurance (employee scheme)", "verification page"],
    ("certificate_issued", "zh-CN"): ["编号110000-C2026-00000007", "2026年1月至2026年12月", "公开核验页面"],
    ("policy_changed", "zh-CN"): ["自2026年7月起", "缴费基数由7,162.00元调整为7,500.00元",
                                  "月缴费额由1,432.40元调整为1,500.00元"],
}


def test_every_template_has_a_sample_and_expectations_in_every_language():
    assert set(SAMPLES) == set(TEMPLATE_NAMES)
    assert set(EXPECTED) == {(template, language) for template in TEMPLATE_NAMES for language in LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_template_renders_the_event_for_the_reader(template, language):
    message = render(template, language, SAMPLES[template])

    text = f"{message.title}\n{message.body}"
    for fact in EXPECTED[(template, language)]:
        assert fact in text
    assert "$" not in text and "None" not in text
    assert message.title.strip() and message.body.strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_a_missing_variable_fails_loudly(template, language):
    complete = SAMPLES[template](wording_for(language))
    used = [name for name in complete if f"${{{name}}}" in "".join(wording_for(language).texts[template])]
    assert used, "every template uses at least one variable"

    for name in used:
        partial = {key: value for key, value in complete.items() if key != name}
        with pytest.raises(MissingVariable) as error:
            render(template, language, lambda wording, partial=partial: partial)
        assert error.value.variable == name


def test_both_languages_use_the_same_variables():
    import string

    def names(text: str) -> set[str]:
        return {match[2] or match[1] for match in string.Template.pattern.findall(text) if match[1] or match[2]}

    for template in TEMPLATE_NAMES:
        zh, en = (names("".join(wording_for(language).texts[template])) for language in LANGUAGES)
        assert zh == en, template


def test_a_phrase_missing_its_variable_fails_too():
    with pytest.raises(MissingVariable):
        wording_for("en").phrase("credit_note")
    with pytest.raises(MissingVariable):
        fill("${amount} due", {}, "ad hoc", "en")


def test_optional_notes_are_left_out_cleanly_when_there_is_nothing_to_say():
    message = render("payment_received", "en", variables.payment_received(a_payment(PERSON), DEFAULT_TZ))
    assert "late fee" not in message.body and "credit" not in message.body
    assert message.body.endswith("keep it for future inquiries.")

    no_wait = render("enrolment_active", "zh-CN", variables.enrolment_active(an_enrolment(PERSON)))
    assert "等待期" not in no_wait.body


def test_each_overdue_level_says_what_comes_next():
    consequences = {level: render("payment_overdue", "en", variables.payment_overdue(
        an_overdue_notice(PERSON, level=level, days=max(level, 1)))).body for level in (1, 30, 60, 90)}
    assert "every day" in consequences[1]
    assert "at 90 days overdue your cover is suspended" in consequences[60]
    assert "Your cover is being suspended" in consequences[90]


def test_sms_and_email_texts_are_signed_and_footed_per_language():
    message = Message(title="缴费成功", body="已收到。")
    assert sms_text("zh-CN", message) == "【社保】已收到。"
    assert sms_text("en", Message("Paid", "Received.")) == "[Shebao] Received."
    assert "请勿直接回复" in email_text("zh-CN", message)


@pytest.mark.parametrize(("amount", "zh", "en"), [
    ("1432.40", "1,432.40元", "¥1,432.40"),
    ("0", "0.00元", "¥0.00"),
    ("1234567.5", "1,234,567.50元", "¥1,234,567.50"),
])
def test_money_is_written_with_two_places_and_grouping(amount, zh, en):
    assert wording_for("zh-CN").money(Decimal(amount)) == zh
    assert wording_for("en").money(Decimal(amount)) == en

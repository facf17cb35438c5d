"""The notices in English. Amounts as ``¥1,432.40``, dates as ``15 July 2025``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from services.notifications.domain.templates.wording import Wording

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


class EnglishWording(Wording):
    language = "en"
    separator = ", "
    sms_signature = "[Shebao] "
    email_footer = "This message was sent by the Shebao social insurance service; please do not reply to it."

    texts = {
        "application_received": (
            "Application received",
            "We have received your application to join ${programmes}. Please hand in these materials: "
            "${materials}. Your cover starts once they are approved.",
        ),
        "materials_rejected": (
            "Materials not accepted",
            "These materials were not accepted; please hand them in again: ${rejections}.",
        ),
        "enrolment_active": (
            "Your ${programme} cover is active",
            "Your ${programme} cover starts in ${start_month}, on a monthly base of ${base}, paid ${frequency}. "
            "${waiting_note}What happens next: you will get a bill at the start of each payment period; "
            "pay it by its due date, as a late fee is charged for every day after it.",
        ),
        "bill_issued": (
            "Your bill for ${months}",
            "Your social insurance contributions for ${months} come to ${total}, due by ${due_date}. "
            "Details: ${lines}.",
        ),
        "payment_reminder_7d": (
            "Reminder: payment due in 7 days",
            "${outstanding} of your contributions for ${months} is still unpaid and due on ${due_date}, "
            "in 7 days. Please pay on time: a late fee is charged for every day after the due date.",
        ),
        "payment_reminder_1d": (
            "Reminder: payment due tomorrow",
            "${outstanding} of your contributions for ${months} is still unpaid and due tomorrow, ${due_date}. "
            "Please pay on time: a late fee is charged for every day after the due date.",
        ),
        "payment_received": (
            "Payment received",
            "We received your payment of ${amount} made on ${paid_at} via ${channel}. "
            "Your voucher number is ${voucher_no}; keep it for future inquiries. ${late_fee_note}${credit_note}",
        ),
        "payment_overdue": (
            "Overdue notice: ${days_overdue} days late",
            "${unpaid_principal} of your ${programmes} contributions due on ${due_date} is unpaid, "
            "${days_overdue} days overdue. The late fee so far is ${late_fee}. ${consequence}",
        ),
        "coverage_suspended": (
            "Your ${programme} cover is suspended",
            "Your ${programme} cover is suspended from ${since} (reason: ${reason}). "
            "It resumes once all arrears are paid.",
        ),
        "coverage_reinstated": (
            "Your ${programme} cover is restored",
            "Your arrears are paid and your ${programme} cover is active again. ${waiting_note}",
        ),
        "application_rejected": (
            "Application not accepted",
            "Your application to join social insurance was not accepted: ${reasons}. "
            "What to do: correct what is named and apply again, or ask at the service counter of your district.",
        ),
        "coverage_terminated": (
            "Your ${programme} cover has ended",
            "Your ${programme} cover ended with ${last_month} (reason: ${reason}). No further bills are issued for "
            "it. Any credit you hold can be refunded on request.",
        ),
        "refund_issued": (
            "Refund of ${amount}",
            "We have refunded ${amount} to you via ${channel} (reason: ${reason}). "
            "Your refund voucher number is ${voucher_no}. ${credit_note}",
        ),
        "certificate_issued": (
            "Certificate of contribution ready",
            "Your certificate of contribution no. ${certificate_no} for ${span} (${programmes}) is ready. "
            "Anyone you show it to can check it by its number on the public verification page.",
        ),
        "policy_changed": (
            "Policy change: ${programme}",
            "Under the new contribution policy, from ${effective_month} your ${programme} base changes from "
            "${old_base} to ${new_base} and your monthly amount from ${old_amount} to ${new_amount}.",
        ),
    }

    phrases = {
        "digest_title": "${count} notices: ${title}",
        "digest_item": "${number}. ${title}: ${body}",
        "month_range": "${first} to ${last}",
        "rejection": "${material} (${reason})",
        "rejection_with_note": "${material} (${reason}: ${note})",
        "bill_line": "${programme} ${amount}",
        "waiting_note": "Medical benefits start after a waiting period ending on ${date}. ",
        "late_fee_note": "It includes a late fee of ${late_fee}. ",
        "credit_note": "Your credit of ${credit} will go towards your next bill.",
        "overdue_reason": "overdue contributions",
        "refund_credit_left": "Your remaining credit is ${credit}.",
        "refund_voucher_pending": "(issued shortly)",
        "consequence_1": "A late fee is charged for every day until you pay.",
        "consequence_30": "A late fee is charged for every day until you pay.",
        "consequence_60": "Please pay soon: at 90 days overdue your cover is suspended.",
        "consequence_90": "Your cover is being suspended; it resumes once all arrears are paid.",
    }

    programmes = {
        "pension": "basic pension",
        "medical_employee": "basic medical insurance (employee scheme)",
        "medical_resident": "urban-rural resident medical insurance",
        "unemployment": "unemployment insurance",
        "work_injury": "work-injury insurance",
        "maternity": "maternity insurance",
    }
    frequencies = {"monthly": "monthly", "quarterly": "quarterly", "half_yearly": "half-yearly", "annual": "yearly"}
    materials = {
        "id_card": "resident ID card (both sides)",
        "household_register": "household registration book (the holder's page)",
        "social_security_card": "social security card (if one was issued)",
        "work_unit_certificate": "work-unit certificate (proof of past employment or separation)",
    }
    rejection_reasons = {
        "illegible": "illegible",
        "expired": "expired",
        "mismatch": "does not match your details",
        "incomplete": "incomplete",
        "other": "other reason",
    }
    payment_channels = {
        "alipay": "Alipay",
        "wechat": "WeChat Pay",
        "wechat_pay": "WeChat Pay",
        "bank": "bank transfer",
        "unionpay": "UnionPay",
        "counter": "the service counter",
    }

    def money(self, amount: Decimal) -> str:
        return f"¥{self.grouped(amount)}"

    def date(self, day: date) -> str:
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"

    def month(self, month: str) -> str:
        parsed = self.parse_month(month)
        return f"{_MONTHS[parsed.month - 1]} {parsed.year}"

    def instant(self, at: datetime) -> str:
        return f"{self.date(at.date())}, {at:%H:%M}"

"""The notices in Chinese (zh-CN). Amounts as ``1,432.40元``, dates as ``2025年7月15日``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from services.notifications.domain.templates.wording import Wording


class ChineseWording(Wording):
    language = "zh-CN"
    separator = "、"
    sms_signature = "【社保】"
    email_footer = "此邮件由社保服务系统自动发送，请勿直接回复。"

    texts = {
        "application_received": (
            "参保申请已受理",
            "您参加${programmes}的申请已受理。请提交以下材料：${materials}。材料审核通过后参保即生效。",
        ),
        "materials_rejected": (
            "材料未通过审核",
            "您提交的以下材料未通过审核，请重新提交：${rejections}。",
        ),
        "enrolment_active": (
            "${programme}参保已生效",
            "您的${programme}自${start_month}起生效，缴费基数${base}，${frequency}缴费。${waiting_note}"
            "接下来：每个缴费周期开始时您会收到缴费通知，请在截止日期前缴费，逾期将按日加收滞纳金。",
        ),
        "bill_issued": (
            "缴费通知：${months}",
            "您${months}的社会保险费共计${total}，请于${due_date}前缴纳。明细：${lines}。",
        ),
        "payment_reminder_7d": (
            "缴费提醒：还有7天到期",
            "您${months}的社会保险费尚有${outstanding}未缴，将于${due_date}到期（还有7天）。"
            "请按时缴费，逾期将按日加收滞纳金。",
        ),
        "payment_reminder_1d": (
            "缴费提醒：明天到期",
            "您${months}的社会保险费尚有${outstanding}未缴，将于明天（${due_date}）到期。"
            "请按时缴费，逾期将按日加收滞纳金。",
        ),
        "payment_received": (
            "缴费成功",
            "已收到您于${paid_at}通过${channel}缴纳的${amount}。缴费凭证号：${voucher_no}，"
            "请妥善保存以备日后查询。${late_fee_note}${credit_note}",
        ),
        "payment_overdue": (
            "逾期缴费通知（已逾期${days_overdue}天）",
            "您应于${due_date}缴纳的${programmes}费用尚有${unpaid_principal}未缴，已逾期${days_overdue}天，"
            "截至目前滞纳金为${late_fee}。${consequence}",
        ),
        "coverage_suspended": (
            "${programme}参保已暂停",
            "因${reason}，您的${programme}自${since}起暂停。补缴全部欠费后即可恢复。",
        ),
        "coverage_reinstated": (
            "${programme}参保已恢复",
            "您已补缴欠费，${programme}已恢复参保。${waiting_note}",
        ),
        "application_rejected": (
            "参保申请未通过",
            "您的参保申请未通过：${reasons}。请按上述原因更正后重新申请，或到所在区的社保经办窗口咨询。",
        ),
        "coverage_terminated": (
            "${programme}参保已终止",
            "您的${programme}已于${last_month}终止参保（原因：${reason}），此后不再生成缴费通知。账户余额可申请退费。",
        ),
        "refund_issued": (
            "退费${amount}",
            "已通过${channel}向您退费${amount}（原因：${reason}）。退费凭证号${voucher_no}。${credit_note}",
        ),
        "certificate_issued": (
            "参保缴费证明已开具",
            "您的参保缴费证明（编号${certificate_no}，${span}，${programmes}）已开具。"
            "任何人均可凭编号在公开核验页面核验。",
        ),
        "policy_changed": (
            "缴费标准调整：${programme}",
            "根据新的缴费政策，自${effective_month}起，您的${programme}缴费基数由${old_base}调整为${new_base}，"
            "月缴费额由${old_amount}调整为${new_amount}。",
        ),
    }

    phrases = {
        "digest_title": "${count}条通知：${title}",
        "digest_item": "${number}. ${title}：${body}",
        "month_range": "${first}至${last}",
        "rejection": "${material}（${reason}）",
        "rejection_with_note": "${material}（${reason}：${note}）",
        "bill_line": "${programme}${amount}",
        "waiting_note": "医保待遇等待期至${date}，此后方可享受医保待遇。",
        "late_fee_note": "其中滞纳金${late_fee}。",
        "credit_note": "余额${credit}将用于抵扣下期费用。",
        "overdue_reason": "逾期未缴费",
        "refund_credit_left": "账户余额${credit}。",
        "refund_voucher_pending": "（稍后出具）",
        "consequence_1": "滞纳金按日加收，请尽快缴纳。",
        "consequence_30": "滞纳金按日加收，请尽快缴纳。",
        "consequence_60": "请尽快缴纳，逾期满90天将暂停参保。",
        "consequence_90": "您的参保将被暂停，补缴全部欠费后即可恢复。",
    }

    programmes = {
        "pension": "基本养老保险",
        "medical_employee": "职工基本医疗保险",
        "medical_resident": "城乡居民基本医疗保险",
        "unemployment": "失业保险",
        "work_injury": "工伤保险",
        "maternity": "生育保险",
    }
    frequencies = {"monthly": "按月", "quarterly": "按季度", "half_yearly": "按半年", "annual": "按年"}
    materials = {
        "id_card": "居民身份证（正反面）",
        "household_register": "户口簿（本人页）",
        "social_security_card": "社会保障卡（如已办理）",
        "work_unit_certificate": "工作单位证明（以往就业或离职证明）",
    }
    rejection_reasons = {
        "illegible": "无法辨认",
        "expired": "已过期",
        "mismatch": "信息不一致",
        "incomplete": "不完整",
        "other": "其他原因",
    }
    payment_channels = {
        "alipay": "支付宝",
        "wechat": "微信支付",
        "wechat_pay": "微信支付",
        "bank": "银行",
        "unionpay": "银联",
        "counter": "柜台",
    }

    def money(self, amount: Decimal) -> str:
        return f"{self.grouped(amount)}元"

    def date(self, day: date) -> str:
        return f"{day.year}年{day.month}月{day.day}日"

    def month(self, month: str) -> str:
        parsed = self.parse_month(month)
        return f"{parsed.year}年{parsed.month}月"

    def instant(self, at: datetime) -> str:
        return f"{self.date(at.date())} {at:%H:%M}"

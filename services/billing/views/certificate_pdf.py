"""The printable certificate of contribution: a PDF (ReportLab) of exactly the signed document,
in zh-CN or English, with a QR code of its public verification address.

Chinese text uses ReportLab's built-in CID font STSong-Light (no font file to ship: readers
substitute their own Song face); figures, numbers and the masked ID are set in Helvetica, so
they read and copy the same in every viewer.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "参保缴费证明", "number": "证明编号", "region": "参保地", "id_number": "公民身份号码",
        "span": "证明期间", "issued_at": "出具时间", "month": "月份", "base": "缴费基数", "amount": "缴费金额",
        "paid_on": "缴费日期", "status": "状态", "months_paid": "已缴月数", "amount_paid": "已缴金额",
        "verify": "扫描二维码或访问以下地址核验本证明", "signature": "电子签名",
        "paid": "已缴", "unpaid": "未缴", "missed": "未缴（不可补缴）", "not_billed": "未参保或未到期",
    },
    "en": {
        "title": "Certificate of contribution", "number": "Certificate no.", "region": "Region",
        "id_number": "Resident ID number", "span": "Months", "issued_at": "Issued", "month": "Month",
        "base": "Base", "amount": "Amount", "paid_on": "Paid on", "status": "Status", "months_paid": "Months paid",
        "amount_paid": "Amount paid", "verify": "Scan the QR code or open this address to verify this certificate",
        "signature": "Signature", "paid": "paid", "unpaid": "unpaid", "missed": "missed (cannot be paid)",
        "not_billed": "not billed",
    },
}

PROGRAMMES: dict[str, dict[str, str]] = {
    "zh-CN": {"pension": "基本养老保险", "medical_employee": "职工基本医疗保险",
              "medical_resident": "城乡居民基本医疗保险", "unemployment": "失业保险", "work_injury": "工伤保险",
              "maternity": "生育保险"},
    "en": {"pension": "Basic pension", "medical_employee": "Basic medical (employee scheme)",
           "medical_resident": "Resident medical", "unemployment": "Unemployment", "work_injury": "Work injury",
           "maternity": "Maternity"},
}


def render_certificate(document: dict[str, Any], signature: str, key_id: str) -> bytes:
    """The PDF of a signed certificate document."""
    language = document["language"] if document["language"] in TEXTS else "en"
    text, names = TEXTS[language], PROGRAMMES[language]
    words = ParagraphStyle("words", fontName=CJK_FONT if language == "zh-CN" else LATIN_FONT, fontSize=10,
                           leading=14)
    title = ParagraphStyle("title", parent=words, fontSize=18, leading=24, spaceAfter=6)
    small = ParagraphStyle("small", fontName=LATIN_FONT, fontSize=7, leading=9)

    story: list[Any] = [Paragraph(text["title"], title), _heading(document, text, words), Spacer(1, 4 * mm)]
    for programme in document["programmes"]:
        story.append(Paragraph(escape(names.get(programme, programme)), words))
        story.append(_months_table(document["months"][programme], document["totals"][programme], text, words))
        story.append(Spacer(1, 4 * mm))
    story += [Paragraph(text["verify"], words), _qr(document["verify_url"]),
              Paragraph(escape(document["verify_url"]), small), Spacer(1, 2 * mm),
              Paragraph(escape(f"{text['signature']} (Ed25519, {key_id}):"), words),
              Paragraph(escape(signature), small)]

    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, title=f"{text['title']} {document['certificate_no']}",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    pdf.build(story)
    return buffer.getvalue()


def _latin(value: str) -> Paragraph:
    """Figures and numbers, set as plain text (Paragraph reads markup: nothing of the data may be taken as such)."""
    return Paragraph(escape(value), ParagraphStyle("latin", fontName=LATIN_FONT, fontSize=10, leading=14))


def _heading(document: dict[str, Any], text: dict[str, str], words: ParagraphStyle) -> Table:
    rows = [
        (text["number"], document["certificate_no"]),
        (text["id_number"], document["id_number"]),
        (text["region"], document["region"]),
        (text["span"], f"{document['first_month']} – {document['last_month']}"),
        (text["issued_at"], document["issued_at"][:19].replace("T", " ") + " UTC"),
    ]
    table = Table([[Paragraph(label, words), _latin(value)] for label, value in rows], colWidths=(45 * mm, 120 * mm))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _months_table(months: list[dict[str, Any]], total: dict[str, Any], text: dict[str, str],
                  words: ParagraphStyle) -> Table:
    header = [Paragraph(text[key], words) for key in ("month", "base", "amount", "paid_on", "status")]
    rows = [header]
    for row in months:
        rows.append([_latin(row["month"]), _latin(row["base"] or "—"), _latin(row["amount"] or "—"),
                     _latin(row["paid_on"] or "—"), Paragraph(text[row["status"]], words)])
    rows.append([Paragraph(text["months_paid"], words), _latin(str(total["months_paid"])),
                 Paragraph(text["amount_paid"], words), _latin(total["amount_paid"]), ""])
    table = Table(rows, colWidths=(25 * mm, 30 * mm, 30 * mm, 30 * mm, 50 * mm), repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _qr(url: str, size: float = 32 * mm) -> Drawing:
    widget = QrCodeWidget(url)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing

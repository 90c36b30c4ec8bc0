"""An invoice or credit note as an A4 PDF, drawn from the document's frozen snapshot (never from
live organization or ticket-type rows), in the buyer's language. Same reportlab approach and fonts
as the ticket PDFs (attachments.py); DejaVu is always embedded so every language's text shows."""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from bilten.i18n import format_date_only, format_money, format_number, is_rtl, translate
from bilten.models import Invoice, InvoiceKind
from bilten.notifications.attachments import _fonts, _visual


def _rate(rate_bp: int, locale: str) -> str:
    return format_number(Decimal(rate_bp) / 100, locale)


def invoice_pdf(invoice: Invoice, *, refers_to_number: str = "", timezone: str = "UTC") -> bytes:
    """One invoice (or credit note, naming the invoice it cancels), paginated when long."""
    locale = invoice.locale
    rtl = is_rtl(locale)
    regular, bold = _fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    title_key = "invoice.credit_note_title" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice.title"
    title = translate(title_key, locale)
    canvas.setTitle(f"{title} {invoice.number}")
    width, height = A4
    margin = 20 * mm
    y = height - margin

    def money(amount: int) -> str:
        return format_money(amount, invoice.currency, locale)

    def write(text: str, *, x: float | None = None, font: str = regular, size: float = 10, right: bool = False) -> None:
        canvas.setFont(font, size)
        shown = _visual(text)
        if x is None:
            if rtl:
                canvas.drawRightString(width - margin, y, shown)
            else:
                canvas.drawString(margin, y, shown)
        elif right:
            canvas.drawRightString(x, y, shown)
        else:
            canvas.drawString(x, y, shown)

    def newline(step: float = 14) -> None:
        nonlocal y
        y -= step
        if y < margin + 20 * mm:
            canvas.showPage()
            y = height - margin

    write(title, font=bold, size=20)
    newline(24)
    write(translate("invoice.number", locale, number=invoice.number), font=bold)
    newline()
    issued = format_date_only(invoice.issued_at, timezone, locale)
    write(translate("invoice.date", locale, date=issued))
    newline()
    if refers_to_number:
        write(translate("invoice.refers_to", locale, number=refers_to_number))
        newline()
    if invoice.event_title:
        write(translate("invoice.event", locale, event=invoice.event_title))
        newline()
    newline(8)
    for label, party, name_key in (
        ("invoice.seller", invoice.seller, "name"),
        ("invoice.buyer", invoice.buyer, "company"),
    ):
        write(translate(label, locale), font=bold)
        newline()
        names = [party.get(name_key, ""), party.get("name", "") if name_key == "company" else ""]
        for line in [*names, *str(party.get("address", "")).splitlines(), party.get("email", "")]:
            if line:
                write(line)
                newline()
        if party.get("vat_id"):
            write(translate("invoice.vat_id", locale, vat_id=party["vat_id"]))
            newline()
        newline(6)

    columns = (
        ("invoice.col.description", margin, False),
        ("invoice.col.quantity", margin + 78 * mm, True),
        ("invoice.col.net", margin + 100 * mm, True),
        ("invoice.col.tax_rate", margin + 118 * mm, True),
        ("invoice.col.tax", margin + 143 * mm, True),
        ("invoice.col.gross", width - margin, True),
    )
    for key, x, right in columns:
        write(translate(key, locale), x=x, font=bold, size=9, right=right)
    newline()
    for line in invoice.lines:
        cells = (
            line["description"][:45],
            str(line["quantity"]),
            money(line["net"]),
            f"{_rate(line['tax_rate_bp'], locale)} %",
            money(line["tax"]),
            money(line["gross"]),
        )
        for (_, x, right), cell in zip(columns, cells, strict=True):
            write(cell, x=x, size=9, right=right)
        newline()
    newline(6)
    for total in invoice.tax_totals:
        write(
            translate(
                "invoice.tax_line",
                locale,
                rate=_rate(total["tax_rate_bp"], locale),
                net=money(total["net"]),
                tax=money(total["tax"]),
            )
        )
        newline()
    write(translate("invoice.total_net", locale, amount=money(invoice.net_minor)))
    newline()
    write(translate("invoice.total_tax", locale, amount=money(invoice.tax_minor)))
    newline()
    write(translate("invoice.total_gross", locale, amount=money(invoice.gross_minor)), font=bold, size=12)
    y = margin
    write(translate("invoice.footer", locale), size=8)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()

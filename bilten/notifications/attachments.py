"""What travels with a ticket email: a QR code per ticket, a printable PDF and a calendar entry."""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import qrcode
from arabic_reshaper import reshape
from bidi import get_display
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

logger = logging.getLogger(__name__)

# Fonts with Arabic glyphs (Debian's fonts-dejavu-core); the PDF's built-in Helvetica has none.
UNICODE_FONT_CANDIDATES = tuple(
    (Path(folder) / "DejaVuSans.ttf", Path(folder) / "DejaVuSans-Bold.ttf")
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")
)


@lru_cache(maxsize=256)
def qr_png(code: str, *, box_size: int = 6) -> bytes:
    """A ticket code as a QR image the door scanners (and zxing) read back.

    Drawing one takes tens of milliseconds (pure Python): the email and its PDF share each image.
    """
    image = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    image.add_data(code)
    image.make(fit=True)
    buffer = io.BytesIO()
    image.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class TicketPage:
    """One page of the tickets PDF, with every text already in the reader's language."""

    heading: str  # e.g. "Ticket 1 of 3"
    event_title: str
    when: str
    venue_lines: tuple[str, ...]
    holder: str
    ticket_type: str
    code: str
    reference: str  # K7QM-4XHT-2P, printed under the QR for typing at the door
    labels: dict[str, str]  # "when", "where", "holder", "ticket_type", "reference", "footer"


@lru_cache
def _fonts() -> tuple[str, str]:
    """(regular, bold) font names: a Unicode TrueType font when the system has one."""
    for regular, bold in UNICODE_FONT_CANDIDATES:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("BiltenSans", str(regular)))
            pdfmetrics.registerFont(TTFont("BiltenSans-Bold", str(bold)))
            return "BiltenSans", "BiltenSans-Bold"
    logger.warning("no Unicode font found (install fonts-dejavu-core): Arabic text in ticket PDFs shows as boxes")
    return "Helvetica", "Helvetica-Bold"


def _visual(text: str) -> str:
    """Arabic letters joined and right-to-left runs reordered, since the PDF draws glyphs as given."""
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in text):
        return get_display(reshape(text))
    return text


def tickets_pdf(pages: list[TicketPage], *, rtl: bool, title: str) -> bytes:
    """One A4 page per ticket: event, date, venue, holder and a large QR code."""
    regular, bold = _fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)  # invariant: same input, same bytes
    canvas.setTitle(title)
    width, height = A4
    margin = 20 * mm

    def write(text: str, y: float, *, font: str = regular, size: float = 11) -> float:
        canvas.setFont(font, size)
        if rtl:
            canvas.drawRightString(width - margin, y, _visual(text))
        else:
            canvas.drawString(margin, y, _visual(text))
        return y - size * 1.5

    for page in pages:
        y = height - margin
        y = write(page.heading, y, size=10)
        y = write(page.event_title, y - 4, font=bold, size=20) - 6
        for label, lines in (
            ("when", (page.when,)),
            ("where", page.venue_lines),
            ("holder", (page.holder,)),
            ("ticket_type", (page.ticket_type,)),
        ):
            y = write(page.labels[label], y, font=bold, size=10)
            for line in lines:
                y = write(line, y, size=12)
            y -= 6
        qr_size = 80 * mm
        qr_bottom = y - qr_size - 10 * mm
        canvas.drawImage(ImageReader(io.BytesIO(qr_png(page.code))), (width - qr_size) / 2, qr_bottom, qr_size, qr_size)
        # The reference, centred under the QR: Latin letters and digits, the same in every language.
        canvas.setFont(regular, 10)
        canvas.drawCentredString(width / 2, qr_bottom - 8 * mm, _visual(page.labels["reference"]))
        canvas.setFont(bold, 18)
        canvas.drawCentredString(width / 2, qr_bottom - 16 * mm, page.reference)
        write(page.labels["footer"], margin, size=9)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    description: str
    url: str
    stamp: datetime


def event_ics(entry: CalendarEntry) -> bytes:
    """An RFC 5545 calendar file with the event, in UTC so every calendar places it right."""
    calendar = Calendar()
    calendar.add("prodid", "-//Bilten//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = CalendarEvent()
    event.add("uid", entry.uid)
    event.add("dtstamp", entry.stamp)
    event.add("dtstart", entry.starts_at)
    event.add("dtend", entry.ends_at)
    event.add("summary", entry.title)
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    if entry.url:
        event.add("url", entry.url)
    calendar.add_component(event)
    return calendar.to_ical()

"""What travels with a ticket email: a QR code per ticket, a printable PDF and a calendar entry."""

from __future__ import annotations

import io
import logging
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import segno
from arabic_reshaper import reshape
from bidi import get_display
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

logger = logging.getLogger(__name__)

# Binary PDF streams: ASCII85 makes them 25 % larger and, without reportlab's C accelerator, costs
# several milliseconds per PDF in pure Python. (Only the ticket PDFs use reportlab in Bilten.)
rl_config.useA85 = 0

# Fonts with Arabic glyphs (Debian's fonts-dejavu-core); the PDF's built-in Helvetica has none.
UNICODE_FONT_CANDIDATES = tuple(
    (Path(folder) / "DejaVuSans.ttf", Path(folder) / "DejaVuSans-Bold.ttf")
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")
)


QR_BORDER = 4  # modules of quiet zone around the code, as the standard asks
# One fixed mask pattern: choosing the "best" of the eight is 80 % of the drawing time in pure
# Python, and every decoder reads every mask (zxing reads these back in the tests).
QR_MASK = 0


@lru_cache(maxsize=1024)
def qr_matrix(code: str) -> tuple[bytes, ...]:
    """The code's QR modules, row by row (1 = dark), without the quiet zone. Cached per code, so a
    ticket's email, its PDF and a resend draw it once."""
    symbol = segno.make_qr(code, error="m", boost_error=False, mask=QR_MASK)
    return tuple(bytes(row) for row in symbol.matrix)


@lru_cache(maxsize=1024)
def qr_png(code: str, *, box_size: int = 6) -> bytes:
    """A ticket code as a QR image the door scanners (and zxing) read back: a 1-bit PNG."""
    return _png_1bit(qr_matrix(code), box_size=box_size, border=QR_BORDER)


def _png_1bit(matrix: tuple[bytes, ...], *, box_size: int, border: int) -> bytes:
    """A black-on-white 1-bit grayscale PNG of the matrix, each module box_size pixels square."""
    size = (len(matrix) + 2 * border) * box_size
    quiet_rows = [b"\x00" + _pack_bits(b"\x01" * size)] * (border * box_size)  # filter byte, then pixels
    quiet_side = b"\x01" * (border * box_size)
    rows = list(quiet_rows)
    for modules in matrix:
        # In the PNG 1 is white; in the matrix 1 is dark.
        pixels = quiet_side + b"".join(_PIXELS[dark] * box_size for dark in modules) + quiet_side
        rows += [b"\x00" + _pack_bits(pixels)] * box_size
    rows += quiet_rows

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, grayscale, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


_PIXELS = (b"\x01", b"\x00")


def _pack_bits(pixels: bytes) -> bytes:
    """One byte per pixel (0 or 1) to eight pixels per byte, most significant bit first."""
    padded = pixels + b"\x00" * (-len(pixels) % 8)
    return int(padded.translate(_BIT_TO_CHAR), 2).to_bytes(len(padded) // 8, "big")


_BIT_TO_CHAR = bytes.maketrans(b"\x00\x01", b"01")


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
        _draw_qr(canvas, qr_matrix(page.code), left=(width - qr_size) / 2, bottom=qr_bottom, size=qr_size)
        # The reference, centred under the QR: Latin letters and digits, the same in every language.
        canvas.setFont(regular, 10)
        canvas.drawCentredString(width / 2, qr_bottom - 8 * mm, _visual(page.labels["reference"]))
        canvas.setFont(bold, 18)
        canvas.drawCentredString(width / 2, qr_bottom - 16 * mm, page.reference)
        write(page.labels["footer"], margin, size=9)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_qr(canvas: Canvas, matrix: tuple[bytes, ...], *, left: float, bottom: float, size: float) -> None:
    """The QR as vector rectangles, one per run of dark modules: sharp at any zoom or print size,
    and no picture to decode, recompress and encode into the PDF. Written as raw PDF operators in
    module units (reportlab's path API formats every float in Python: ten times slower)."""
    module = size / (len(matrix) + 2 * QR_BORDER)
    operators = [
        "q 0 g",  # save the graphics state, fill black
        # Origin at the top-left dark area, one unit per module, y growing downwards like the matrix.
        f"{module:.4f} 0 0 {-module:.4f} {left + QR_BORDER * module:.4f} {bottom + size - QR_BORDER * module:.4f} cm",
    ]
    for row_number, row in enumerate(matrix):
        operators += [f"{run.start()} {row_number} {run.end() - run.start()} 1 re" for run in _DARK_RUN.finditer(row)]
    operators.append("f Q")  # fill every rectangle at once, restore the graphics state
    canvas.addLiteral("\n".join(operators))


_DARK_RUN = re.compile(rb"\x01+")


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

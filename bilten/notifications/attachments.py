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
    spare = -size % 8  # bits that fill the row's last byte
    quiet_side = b"1" * (border * box_size)
    white = b"\x00" + _packed(b"1" * (size + spare))
    rows = [white] * (border * box_size)
    dark, light = b"0" * box_size, b"1" * box_size  # in the PNG 1 is white; in the matrix 1 is dark
    for modules in matrix:
        pixels = quiet_side + modules.replace(b"\x00", light).replace(b"\x01", dark) + quiet_side + b"1" * spare
        rows += [b"\x00" + _packed(pixels)] * box_size  # each row starts with its filter type, 0
    rows += [white] * (border * box_size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, grayscale, no interlace
    idat = zlib.compress(b"".join(rows), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _packed(bits: bytes) -> bytes:
    """A row of b"0"/b"1" pixels (a multiple of eight) as bytes, most significant bit first."""
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


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


# The PDF viewer's own Helvetica: nothing to embed. Embedding (and subsetting) DejaVu costs two
# thirds of a ticket PDF's drawing time and ten times its size, so it is used only for texts that
# Helvetica's WinAnsi encoding cannot show (Arabic, Cyrillic, Greek, ...).
STANDARD_FONTS = ("Helvetica", "Helvetica-Bold")


# Typographic spaces (CLDR puts U+202F before "AM") that WinAnsi lacks, as their nearest look-alike.
_WINANSI_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2007": "\u00a0", "\u2009": " ", "\u200a": " "})


def _winansi(text: str) -> str:
    return text.translate(_WINANSI_SPACES)


def _in_standard_fonts(page: TicketPage) -> bool:
    texts = (page.heading, page.event_title, page.when, page.holder, page.ticket_type, page.reference)
    try:
        for text in (*texts, *page.venue_lines, *page.labels.values()):
            _winansi(text).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _visual(text: str) -> str:
    """Arabic letters joined and right-to-left runs reordered, since the PDF draws glyphs as given."""
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in text):
        return get_display(reshape(text))
    return text


def tickets_pdf(pages: list[TicketPage], *, rtl: bool, title: str) -> bytes:
    """One A4 page per ticket: event, date, venue, holder and a large QR code."""
    standard = all(_in_standard_fonts(page) for page in pages)
    regular, bold = STANDARD_FONTS if standard else _fonts()
    shown = _winansi if standard else _visual
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)  # invariant: same input, same bytes
    canvas.setTitle(title)
    width, height = A4
    margin = 20 * mm

    def write(text: str, y: float, *, font: str = regular, size: float = 11) -> float:
        canvas.setFont(font, size)
        if rtl:
            canvas.drawRightString(width - margin, y, shown(text))
        else:
            canvas.drawString(margin, y, shown(text))
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
        canvas.drawCentredString(width / 2, qr_bottom - 8 * mm, shown(page.labels["reference"]))
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

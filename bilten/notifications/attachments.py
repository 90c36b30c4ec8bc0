"""What travels with a ticket email: a QR code per ticket, a printable PDF and a calendar entry."""

from __future__ import annotations

import io
import logging
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import accumulate, chain, repeat
from pathlib import Path

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

from bilten.notifications.pdf_writer import TextRun, text_operators, write_pdf
from bilten.notifications.qr import qr_modules

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


@lru_cache(maxsize=1024)
def qr_matrix(code: str) -> tuple[bytes, ...]:
    """The code's QR modules, row by row (1 = dark), without the quiet zone (error level M, one
    fixed mask: bilten/notifications/qr.py). Cached per code, so a ticket's email, its PDF and a
    resend draw it once."""
    return qr_modules(code)


@lru_cache(maxsize=1024)
def qr_png(code: str, *, box_size: int = 6) -> bytes:
    """A ticket code as a QR image the door scanners (and zxing) read back: a 1-bit PNG."""
    return _png_1bit(qr_matrix(code), box_size=box_size, border=QR_BORDER)


def _png_1bit(matrix: tuple[bytes, ...], *, box_size: int, border: int) -> bytes:
    """A black-on-white 1-bit grayscale PNG of the matrix, each module box_size pixels square."""
    size = (len(matrix) + 2 * border) * box_size
    spare = -size % 8  # bits that fill the row's last byte
    quiet_side = b"1" * (border * box_size)
    # Each row starts with its filter type: 0 (none) for a row of modules' first pixel row, 2 ("up":
    # the difference to the row above, all zeros) for its repeats, which compress to almost nothing.
    white = b"\x00" + _packed(b"1" * (size + spare))
    same = b"\x02" + bytes((size + spare) // 8)
    quiet = [white] + [same] * (border * box_size - 1)
    rows = list(quiet)
    dark, light = b"0" * box_size, b"1" * box_size  # in the PNG 1 is white; in the matrix 1 is dark
    for modules in matrix:
        pixels = quiet_side + modules.replace(b"\x00", light).replace(b"\x01", dark) + quiet_side + b"1" * spare
        rows.append(b"\x00" + _packed(pixels))
        rows += [same] * (box_size - 1)
    rows += quiet

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, grayscale, no interlace
    idat = zlib.compress(b"".join(rows), 6)  # level 9 takes three times longer for 3 % less
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
    if all(_in_standard_fonts(page) for page in pages):
        # The viewer's Helvetica: the PDF is written directly (bilten/notifications/pdf_writer.py).
        contents = [_page_content(page, rtl=rtl) for page in pages]
        return write_pdf(contents, width=A4[0], height=A4[1], title=title)
    return reportlab_tickets_pdf(pages, rtl=rtl, title=title, fonts=_fonts(), shown=_visual)


def _page_layout(
    page: TicketPage, *, rtl: bool, fonts: tuple[str, str], shown: Callable[[str], str]
) -> tuple[list[TextRun], QrPlace]:
    """Where everything on a ticket's page goes: its lines of text and the QR code."""
    regular, bold = fonts
    width, height = A4
    margin = 20 * mm
    runs: list[TextRun] = []

    def write(text: str, y: float, *, font: str = regular, size: float = 11) -> float:
        if rtl:
            runs.append(TextRun(width - margin, y, font, size, shown(text), "right"))
        else:
            runs.append(TextRun(margin, y, font, size, shown(text)))
        return y - size * 1.5

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
    qr = QrPlace(left=(width - qr_size) / 2, bottom=qr_bottom, size=qr_size)
    # The reference, centred under the QR: Latin letters and digits, the same in every language.
    runs.append(TextRun(width / 2, qr_bottom - 8 * mm, regular, 10, shown(page.labels["reference"]), "centre"))
    runs.append(TextRun(width / 2, qr_bottom - 16 * mm, bold, 18, page.reference, "centre"))
    write(page.labels["footer"], margin, size=9)
    return runs, qr


@dataclass(frozen=True)
class QrPlace:
    left: float
    bottom: float
    size: float


def _page_content(page: TicketPage, *, rtl: bool) -> bytes:
    runs, qr = _page_layout(page, rtl=rtl, fonts=STANDARD_FONTS, shown=_winansi)
    drawn = [text_operators(run) for run in runs]
    qr_operators = _qr_operators(qr_matrix(page.code), qr).encode("ascii")
    return b"\n".join([*drawn[:-3], qr_operators, *drawn[-3:]])


def reportlab_tickets_pdf(
    pages: list[TicketPage], *, rtl: bool, title: str, fonts: tuple[str, str], shown: Callable[[str], str]
) -> bytes:
    """The tickets PDF drawn by reportlab: any script, with the TrueType font embedded."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)  # invariant: same input, same bytes
    canvas.setTitle(title)
    draw = {"left": canvas.drawString, "right": canvas.drawRightString, "centre": canvas.drawCentredString}
    for page in pages:
        runs, qr = _page_layout(page, rtl=rtl, fonts=fonts, shown=shown)
        for index, run in enumerate(runs):
            if index == len(runs) - 3:
                canvas.addLiteral(_qr_operators(qr_matrix(page.code), qr))
            canvas.setFont(run.font, run.size)
            draw[run.align](run.x, run.y, run.text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _qr_operators(matrix: tuple[bytes, ...], place: QrPlace) -> str:
    """The QR as vector rectangles, one per run of dark modules: sharp at any zoom or print size,
    and no picture to decode, recompress and encode into the PDF. Raw PDF operators in module
    units (reportlab's path API formats every float in Python: ten times slower)."""
    module = place.size / (len(matrix) + 2 * QR_BORDER)
    left, top = place.left + QR_BORDER * module, place.bottom + place.size - QR_BORDER * module
    # Origin at the top-left dark area, one unit per module, y growing downwards like the matrix;
    # fill black, every rectangle at once, inside a saved graphics state.
    head = f"q 0 g\n{module:.4f} 0 0 {-module:.4f} {left:.4f} {top:.4f} cm\n"
    return head + _dark_runs(matrix) + "f Q"


def _dark_runs(matrix: tuple[bytes, ...]) -> str:
    """ "x y width 1 re" for every horizontal run of dark modules, row by row. Found and formatted
    by C loops (split, accumulate, divmod, one format): about 800 runs per ticket code."""
    stride = len(matrix) + 1  # the rows joined by a light module, so no run spans two rows
    pieces = _DARK_SPLIT.split(b"\x00".join(matrix))  # light, dark, light, ..., light
    lengths = list(map(len, pieces))
    ends = list(accumulate(lengths))
    starts = ends[0:-1:2]  # a dark piece starts where the light one before it ends
    if not starts:
        return ""
    rows, columns = zip(*map(divmod, starts, repeat(stride)), strict=True)
    widths = lengths[1::2]
    return ("%d %d %d 1 re\n" * len(widths)) % tuple(chain.from_iterable(zip(columns, rows, widths, strict=True)))


_DARK_SPLIT = re.compile(rb"(\x01+)")


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

"""A minimal PDF writer: pages of text in the viewer's own Helvetica and filled rectangles.

A ticket PDF whose texts all fit WinAnsi needs nothing else, and reportlab spends most of a ticket
email's PDF time formatting its object tree in pure Python (3.4 ms for two pages). Written out
here, the same pages take about a fifth of that: a handful of objects, one compressed content stream
per page and the cross-reference table. Texts needing another script (Arabic, Cyrillic, ...) still
go through reportlab, which embeds DejaVu (bilten/notifications/attachments.py).

Positions come from the caller; text widths (for right-aligned and centred text) from reportlab's
Helvetica metrics, the ones its own canvas uses.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.rl_codecs import RL_Codecs

RL_Codecs.register()  # the "winansi" codec (reportlab's canvas registers it too)

# Resource names of the two standard fonts every page may use.
FONT_NAMES = {"Helvetica": b"/F1", "Helvetica-Bold": b"/F2"}


@dataclass(frozen=True)
class TextRun:
    """One line of text: `x` is its left edge, right edge or centre as `align` says."""

    x: float
    y: float
    font: str  # "Helvetica" or "Helvetica-Bold"
    size: float
    text: str  # already in WinAnsi's repertoire
    align: str = "left"  # "left", "right", "centre"


def _number(value: float) -> bytes:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")


def _literal(text: str) -> bytes:
    """A PDF literal string in WinAnsi bytes (reportlab's codec, as its canvas writes them: a
    no-break space is WinAnsi's second space), with its delimiters escaped."""
    raw = text.encode("winansi")
    for plain, escaped in ((b"\\", b"\\\\"), (b"(", b"\\("), (b")", b"\\)"), (b"\r", b"\\r"), (b"\n", b"\\n")):
        raw = raw.replace(plain, escaped)
    return b"(" + raw + b")"


def text_operators(run: TextRun) -> bytes:
    """The run as reportlab's canvas draws it: font and leading, then the text at its place (the
    same operators, so text extraction reads both alike)."""
    x = run.x
    if run.align != "left":
        width = stringWidth(run.text, run.font, run.size)
        x -= width if run.align == "right" else width / 2
    return b"BT %s %s Tf %s TL ET\nBT 1 0 0 1 %s %s Tm %s Tj T* ET" % (
        FONT_NAMES[run.font],
        _number(run.size),
        _number(run.size * 1.2),
        _number(x),
        _number(run.y),
        _literal(run.text),
    )


def _text_string(value: str) -> bytes:
    """A PDF text string for the document information (UTF-16 with a byte order mark: any script)."""
    return b"<" + ("\ufeff" + value).encode("utf-16-be").hex().upper().encode("ascii") + b">"


def write_pdf(pages: list[bytes], *, width: float, height: float, title: str) -> bytes:
    """A PDF of `pages`, each the (uncompressed) content stream of one page, using /F1 and /F2."""
    fonts = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    )
    # Objects: 1 catalog, 2 page tree, 3-4 fonts, 5 information, then a page and its content each.
    first_page = 6
    page_ids = [first_page + 2 * index for index in range(len(pages))]
    media_box = b"[0 0 %s %s]" % (_number(width), _number(height))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % page for page in page_ids), len(pages)),
        *fonts,
        b"<< /Title %s /Producer (Bilten) >>" % _text_string(title),
    ]
    for page_id, content in zip(page_ids, pages, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
            b"/Contents %d 0 R >>" % (media_box, page_id + 1)
        )
        compressed = zlib.compress(content, 6)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(compressed), compressed))
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets = []
    position = len(out[0])
    for number, body in enumerate(objects, start=1):
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(position)
        out.append(chunk)
        position += len(chunk)
    size = len(objects) + 1
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    out.append(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.append(b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, position))
    return b"".join(out)

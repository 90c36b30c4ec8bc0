"""The parts every email is made of: its texts in one language, the layout written once for HTML
and plain text, and what a rendered email carries (inline images, attachments, secrets to keep out
of storage)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

from bilten.i18n import FALLBACK_LOCALE, LOCALES_DIR, is_rtl, localized_params, text_direction

logger = logging.getLogger("bilten.notifications.rendering")  # the name operators already filter on


class MissingData(Exception):
    """What the notification is about is gone (or no longer true): sending it cannot succeed."""


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without the angle brackets; the HTML refers to it as cid:<cid>
    png: bytes


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf", "text/calendar"
    data: bytes


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    inline_images: list[InlineImage] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    secrets: tuple[str, ...] = ()  # e.g. a password-reset link: never stored with the notification

    def text_to_store(self) -> str:
        text = self.text
        for secret in self.secrets:
            text = text.replace(secret, "[removed]")
        return text


@lru_cache
def _catalog(locale: str) -> dict[str, str]:
    """One language's own texts, without English filling the gaps (so gaps can be reported)."""
    path = LOCALES_DIR / f"{locale}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


class EmailTexts:
    """The texts of one email in one language."""

    def __init__(self, locale: str, template: str) -> None:
        self.locale = locale
        self.template = template
        self.rtl = is_rtl(locale)

    def tr(self, key: str, **params: object) -> str:
        text = _catalog(self.locale).get(key)
        if text is None:
            logger.warning("email %s: no %s translation for %r, using English", self.template, self.locale, key)
            text = _catalog(FALLBACK_LOCALE).get(key, key)
        return text.format(**localized_params(params, self.locale)) if params else text

    def greeting(self, name: str) -> str:
        return self.tr("email.greeting", name=name) if name.strip() else self.tr("email.greeting_anonymous")


# ---------------------------------------------------------------------------------------------
# Layout


class Body:
    """The content of one email, written once and rendered both as HTML and as plain text."""

    def __init__(self, texts: EmailTexts) -> None:
        self.texts = texts
        self.html: list[str] = []
        self.text: list[str] = []

    @property
    def _align(self) -> str:
        return "right" if self.texts.rtl else "left"

    def heading(self, value: str) -> None:
        self.html.append(f'<h2 style="margin:24px 0 8px;font-size:18px;color:#18181b">{escape(value)}</h2>')
        self.text += ["", value, "-" * len(value)]

    def paragraph(self, value: str) -> None:
        self.html.append(f'<p style="margin:0 0 12px;line-height:1.5">{escape(value)}</p>')
        self.text += [value, ""]

    def details(self, rows: list[tuple[str, str]]) -> None:
        cells = "".join(
            f'<tr><td style="padding:4px 8px;color:#52525b;vertical-align:top;text-align:{self._align}">'
            f'{escape(label)}</td><td style="padding:4px 8px;text-align:{self._align}">{escape(value)}</td></tr>'
            for label, value in rows
        )
        self.html.append(f'<table role="presentation" style="margin:0 0 12px;border-collapse:collapse">{cells}</table>')
        self.text += [f"{label}: {value}" for label, value in rows] + [""]

    def button(self, url: str, label: str) -> None:
        self.html.append(
            f'<p style="margin:16px 0"><a href="{escape(url)}" style="display:inline-block;padding:12px 20px;'
            f'background:#4f46e5;color:#ffffff;text-decoration:none;border-radius:6px">{escape(label)}</a></p>'
        )
        self.text += [f"{label}: {url}", ""]

    def image(self, cid: str, alt: str, size: int = 220) -> None:
        self.html.append(
            f'<p style="margin:8px 0 16px"><img src="cid:{escape(cid)}" alt="{escape(alt)}" '
            f'width="{size}" height="{size}" style="display:block;border:0"></p>'
        )

    def document(self, subject: str) -> tuple[str, str]:
        """(HTML, plain text) of the whole email."""
        texts = self.texts
        direction, align = text_direction(texts.locale), self._align
        html = (
            "<!doctype html>\n"
            f'<html lang="{texts.locale}" dir="{direction}">\n<head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(subject)}</title></head>\n"
            f'<body dir="{direction}" style="margin:0;padding:0;background:#f4f4f5;'
            'font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#27272a">\n'
            '<table role="presentation" width="100%" style="border-collapse:collapse"><tr><td align="center" '
            'style="padding:24px 12px">\n'
            f'<table role="presentation" dir="{direction}" width="600" style="max-width:600px;width:100%;'
            f'border-collapse:collapse;background:#ffffff;border-radius:8px"><tr><td style="padding:28px;'
            f'text-align:{align}">\n'
            f'<h1 style="margin:0 0 20px;font-size:22px;color:#4f46e5">{escape(texts.tr("email.brand"))}</h1>\n'
            + "\n".join(self.html)
            + f'\n<p style="margin:28px 0 0;font-size:12px;color:#71717a">{escape(texts.tr("email.footer"))}</p>\n'
            "</td></tr></table>\n</td></tr></table>\n</body>\n</html>\n"
        )
        text = "\n".join(self.text).strip() + "\n\n-- \n" + texts.tr("email.footer") + "\n"
        return html, text

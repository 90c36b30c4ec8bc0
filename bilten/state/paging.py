"""Paging of the long lists (admin users, organizations, events; an event's orders and attendees).

A list's state mixes one of these in; its `load` reads one page into `_rows` and sets `total` (and,
page by page, `pages`). The page shows `range_text` and the buttons with `components.pager`.
"""

from __future__ import annotations

import reflex as rx

from bilten.i18n import translate, translate_plural
from bilten.state.i18n import LocalizedState

PAGE_SIZE = 25
MAX_SEARCH = 200  # characters of a list's search kept (the search box stops there too)


class OffsetPaging(LocalizedState, mixin=True):
    """Rows from `offset`: "1–25 of 60"."""

    offset: int = 0
    total: int = 0
    _rows: list = []

    @rx.var
    def range_text(self) -> str:
        if self.total == 0:
            return ""
        locale = self._display_locale()
        first, last = self.offset + 1, self.offset + len(self._rows)
        return translate("admin.page_range", locale, first=first, last=last, total=self.total)

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + len(self._rows) < self.total

    @rx.event
    def next_page(self):
        if self.offset + len(self._rows) < self.total:
            self.offset += PAGE_SIZE
            return type(self).load
        return None

    @rx.event
    def previous_page(self):
        if self.offset > 0:
            self.offset = max(self.offset - PAGE_SIZE, 0)
            return type(self).load
        return None


class PagePaging(LocalizedState, mixin=True):
    """Numbered pages: "Page 2 of 3 · 60 orders", worded by each list's `_page_text_key`."""

    page: int = 1
    pages: int = 1
    total: int = 0
    _page_text_key: str = "office.page_of"

    @rx.var
    def range_text(self) -> str:
        locale = self._display_locale()
        return translate_plural(self._page_text_key, self.total, locale, page=self.page, pages=self.pages)

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 1

    @rx.var
    def has_next(self) -> bool:
        return self.page < self.pages

    @rx.event
    def next_page(self):
        if self.page < self.pages:
            self.page += 1
            return type(self).load
        return None

    @rx.event
    def previous_page(self):
        if self.page > 1:
            self.page -= 1
            return type(self).load
        return None

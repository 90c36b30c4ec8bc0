"""A data table: header cells, one row per item, and a line of text when there is nothing to show.

data_table(
    [Column(t["admin.col_email"]), Column(t["admin.col_name"], wide_only=True), Column.actions()],
    AdminUsersState.users,
    user_row,
    table_id="users-table",
    empty_text=t["admin.no_users"],
    empty_id="no-users",
    below=(pager(AdminUsersState, "users"),),
)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx

from bilten.state.i18n import LocaleState

# Columns a phone can do without (the table still scrolls sideways for the rest): give their
# cells `display=WIDE_ONLY` too.
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")


@dataclass(frozen=True)
class Column:
    label: rx.Var[str]
    wide_only: bool = False
    screen_reader_only: bool = False  # a column of buttons: its title is read, not shown

    @classmethod
    def actions(cls) -> Column:
        return cls(LocaleState.t["office.col_actions"], screen_reader_only=True)

    def header_cell(self) -> rx.Component:
        label = rx.el.span(self.label, class_name="rt-sr-only") if self.screen_reader_only else self.label
        return rx.table.column_header_cell(label, **({"display": WIDE_ONLY} if self.wide_only else {}))


def data_table(
    columns: list[Column],
    rows: rx.Var[list],
    render_row: Callable[[rx.Var], rx.Component],
    *,
    table_id: str,
    empty_text: rx.Var[str] | None = None,
    empty_id: str | None = None,
    below: tuple[rx.Component, ...] = (),
    **props,
) -> rx.Component:
    """The table of `rows` (each drawn by `render_row`) with `below` under it (notes, the pager);
    with `empty_text`, that text instead when there are no rows."""
    table = rx.table.root(
        rx.table.header(rx.table.row(*[column.header_cell() for column in columns])),
        rx.table.body(rx.foreach(rows, render_row)),
        width="100%",
        variant="surface",
        id=table_id,
        **props,
    )
    content = rx.vstack(table, *below, spacing="3", width="100%") if below else table
    if empty_text is None:
        return content
    empty = rx.text(empty_text, color_scheme="gray", **({"id": empty_id} if empty_id else {}))
    return rx.cond(rows.length() > 0, content, empty)

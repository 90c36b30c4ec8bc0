"""The Exports tab: attendees or orders as CSV or XLSX, made in the background with a progress
bar; the file downloads from the list once done."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import reflex as rx

from bilten import jobs, live
from bilten.back_office.frame.state import BackOfficeState, acting_user_id, office_section, route_event_id
from bilten.components.download_link import download_link
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import reading_flip, tab_panel
from bilten.components.table import Column, data_table
from bilten.db import session_scope
from bilten.i18n import format_datetime, translate, translate_plural
from bilten.ids import parse_id
from bilten.models import ExportStatus, User
from bilten.services import exports
from bilten.services.errors import BiltenError
from bilten.services.exports import ExportView
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocaleState, LocalizedState

EXPORT_KINDS = ("attendees", "orders")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_POLL_SECONDS = 2.0  # progress is pushed; this re-read only covers a lost message


@dataclasses.dataclass(frozen=True)
class ExportRowView:
    id: str
    kind: str
    file_format: str
    created: str
    status: str
    status_label: str
    percent: int
    progress: str
    active: bool
    done: bool
    download_url: str
    error: str


@office_section("exports")
@private_state
class OfficeExportsState(LocalizedState, rx.State):
    loaded: bool = False
    kind: str = "attendees"
    file_format: str = "csv"
    _rows: list[ExportView] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office.
    _timezone: str = "UTC"
    _watching: bool = False

    @rx.var
    def exports(self) -> list[ExportRowView]:
        locale = self._display_locale()
        return [
            ExportRowView(
                id=str(job.id),
                kind=translate(f"exports.kind_{job.kind}", locale),
                file_format=job.file_format.value.upper(),
                created=format_datetime(job.created_at, self._timezone, locale),
                status=job.status.value,
                status_label=translate(f"exports.status_{job.status}", locale),
                percent=job.percent,
                progress=translate_plural("exports.rows_done", job.rows_total, locale, done=job.rows_done),
                active=job.active,
                done=job.status == ExportStatus.DONE,
                download_url=job.download_url or "",
                error=translate(job.error, locale) if job.error else "",
            )
            for job in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        async with service_call(self) as call:
            rows = exports.list_exports(call.session, actor=call.user, event_id=route_event_id(self))
        self.loaded = True
        if call.failed:
            self._rows = []
            return call.error_toast()
        self._rows = rows
        return OfficeExportsState.watch if any(job.active for job in self._rows) else None

    @rx.event
    def set_kind(self, kind: str):
        self.kind = kind if kind in EXPORT_KINDS else "attendees"

    @rx.event
    def set_file_format(self, file_format: str):
        self.file_format = file_format if file_format in EXPORT_FORMATS else "csv"

    @rx.event
    async def start(self):
        """Queue the export and follow its progress; the file downloads from the list once done."""
        async with service_call(self) as call:
            job = exports.request_export(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                kind=self.kind,
                file_format=self.file_format,
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        if job.status == ExportStatus.QUEUED:
            jobs.submit_export(job.id)
        self._rows = [job, *[row for row in self._rows if row.id != job.id]][: exports.RECENT_EXPORTS]
        return [OfficeExportsState.watch, rx.toast.info(call.text("exports.started"))]

    @rx.event(background=True)
    async def watch(self):
        """Follow the running exports of this event until they all finished (progress is pushed on
        `live.exports_channel`; a re-read every few seconds covers a lost message)."""
        async with self:
            if self._watching:
                return
            self._watching = True
            event_id = self.event_id
            user_id = await acting_user_id(self)
        try:
            event_uuid = parse_id(event_id)
            if event_uuid is None:
                return
            deadline = time.monotonic() + exports.STALE_AFTER.total_seconds()
            async with live.subscription(live.exports_channel(event_uuid)) as queue:
                while time.monotonic() < deadline:
                    rows = await asyncio.to_thread(_read_exports, user_id, event_uuid)
                    async with self:
                        if self.event_id != event_id:
                            return
                        self._rows = rows
                    if not any(job.active for job in rows):
                        return
                    try:
                        await asyncio.wait_for(queue.get(), timeout=EXPORT_POLL_SECONDS)
                        await asyncio.sleep(0.2)  # let a burst of progress messages land in one re-read
                        while not queue.empty():
                            queue.get_nowait()
                    except TimeoutError:
                        pass
        finally:
            async with self:
                self._watching = False


def _read_exports(user_id: str, event_id: uuid.UUID) -> list[ExportView]:
    with session_scope() as session:
        user_uuid = parse_id(user_id)
        user = session.get(User, user_uuid) if user_uuid else None
        try:
            return exports.list_exports(session, actor=user, event_id=event_id)
        except BiltenError:
            return []


# -- components ---------------------------------------------------------------------------------


def export_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of ExportRowView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.kind + " · " + row.file_format, weight="medium"),
                rx.text(row.created, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(status_badge(row.status_label, row.status, class_name="export-status")),
        rx.table.cell(
            rx.vstack(
                rx.progress(
                    value=row.percent,
                    max=100,
                    size="2",
                    min_width="8rem",
                    aria_label=LocaleState.t["exports.progress"],
                    transform=reading_flip(),
                    class_name="export-progress",
                    custom_attrs={"data-percent": row.percent},
                ),
                rx.text(rx.cond(row.error != "", row.error, row.progress), size="1", color_scheme="gray"),
                spacing="1",
                width="100%",
            ),
            width="40%",
        ),
        rx.table.cell(
            rx.cond(
                row.done,
                rx.button(
                    download_link(
                        rx.icon("download", size=14, aria_hidden="true"),
                        LocaleState.t["exports.download"],
                        href=row.download_url,
                        class_name="export-download",
                    ),
                    as_child=True,
                    size="1",
                ),
            ),
        ),
        custom_attrs={"data-export-id": row.id, "data-status": row.status},
    )


def choice(label: rx.Var[str], values: tuple[str, ...], value, on_change, select_id: str, key: str) -> rx.Component:  # noqa: ANN001
    """A labelled select of `values`, each shown as the message `key + value`."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(aria_label=label, id=select_id),
            rx.select.content(*[rx.select.item(LocaleState.t[f"{key}{v}"], value=v) for v in values]),
            value=value,
            on_change=on_change,
        ),
        spacing="1",
    )


def exports_section() -> rx.Component:
    state = OfficeExportsState
    t = LocaleState.t
    return tab_panel(
        state.loaded,
        rx.text(t["exports.hint"], size="2", color_scheme="gray"),
        rx.flex(
            choice(t["exports.what"], EXPORT_KINDS, state.kind, state.set_kind, "export-kind", "exports.kind_"),
            choice(
                t["exports.format"],
                EXPORT_FORMATS,
                state.file_format,
                state.set_file_format,
                "export-format",
                "exports.format_",
            ),
            rx.button(rx.icon("file-down", size=16), t["exports.start"], on_click=state.start, id="export-start"),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        data_table(
            [
                Column(t["exports.col_export"]),
                Column(t["office.col_status"]),
                Column(t["exports.progress"]),
                Column.actions(),
            ],
            state.exports,
            export_row,
            table_id="exports-table",
            empty_text=t["exports.none"],
            empty_id="no-exports",
        ),
        name="exports",
    )

"""The Questions tab: what the checkout asks buyers (owners, managers, admins). A question already
answered is retired when removed: its answers stay on the orders and in exports."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.back_office.frame.state import office_section, route_event_id
from bilten.back_office.staff import labelled_field
from bilten.components.tab_panel import tab_panel
from bilten.components.table import Column, data_table
from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.models import QuestionKind
from bilten.services import questions as question_service
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocaleState, LocalizedState


@dataclasses.dataclass(frozen=True)
class QuestionRowView:
    id: str
    label: str
    kind: str
    options: str
    asked: str  # once per order / once per ticket
    required: bool


@dataclasses.dataclass(frozen=True)
class _Row:
    id: str
    label: str
    kind: str
    options: list[str]
    per_ticket: bool
    required: bool


def _row(q) -> _Row:  # noqa: ANN001 - a Question
    return _Row(str(q.id), q.label, q.kind.value, list(q.options), q.per_ticket, q.required)


@office_section("questions")
@private_state
class OfficeQuestionsState(LocalizedState, rx.State):
    loaded: bool = False
    _rows: list[_Row] = []

    @rx.var
    def questions(self) -> list[QuestionRowView]:
        locale = self._display_locale()
        return [
            QuestionRowView(
                id=r.id,
                label=r.label,
                kind=translate(f"question.kind.{r.kind}", locale),
                options=", ".join(r.options),
                asked=translate("office.question_per_ticket" if r.per_ticket else "office.question_per_order", locale),
                required=r.required,
            )
            for r in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            rows = question_service.list_questions(call.session, actor=call.user, event_id=route_event_id(self))
            self._rows = [_row(q) for q in rows]
        self.loaded = True
        if call.failed:
            self._rows = []
            return call.error_toast()
        return None

    @rx.event
    async def add(self, form_data: dict[str, str]):
        options = [line.strip() for line in (form_data.get("options") or "")[:20_000].splitlines() if line.strip()]
        async with service_call(self) as call:
            question = question_service.create_question(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                fields=question_service.QuestionFields(
                    label=(form_data.get("label") or "")[:1000],
                    kind=(form_data.get("kind") or "")[:40],
                    options=options,
                    required=bool(form_data.get("required")),
                    per_ticket=bool(form_data.get("per_ticket")),
                    allow_buyer_edit=bool(form_data.get("allow_buyer_edit")),
                ),
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        self._rows = [*self._rows, _row(question)]
        return [
            rx.toast.success(call.text("office.question_added")),
            rx.call_script("document.getElementById('question-form')?.reset()"),
        ]

    @rx.event
    async def remove(self, question_id: str):
        wanted = parse_id(question_id)
        if wanted is None:
            return None
        async with service_call(self) as call:
            question_service.delete_question(
                call.session, actor=call.user, event_id=route_event_id(self), question_id=wanted, now=call.now
            )
        if call.failed:
            return call.error_toast()
        self._rows = [r for r in self._rows if r.id != str(wanted)]
        return rx.toast.success(call.text("office.question_removed"))


# -- components ---------------------------------------------------------------------------------


def question_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of QuestionRowView
    return rx.table.row(
        rx.table.row_header_cell(
            row.label, rx.cond(row.required, rx.text(" ", LocaleState.t["question.required_mark"], as_="span"))
        ),
        rx.table.cell(row.kind),
        rx.table.cell(row.asked),
        rx.table.cell(row.options),
        rx.table.cell(
            rx.button(
                rx.icon("trash-2", size=14),
                LocaleState.t["office.remove"],
                on_click=OfficeQuestionsState.remove(row.id),
                color_scheme="red",
                variant="soft",
                size="1",
                class_name="remove-question",
            )
        ),
        custom_attrs={"data-question-id": row.id},
    )


def _check(name: str, label: rx.Var[str], *, checked: bool = False) -> rx.Component:
    return rx.el.label(
        rx.flex(
            rx.el.input(type="checkbox", name=name, value="yes", default_checked=checked, id=f"field-question-{name}"),
            rx.text(label, size="2"),
            spacing="2",
            align="center",
        ),
        html_for=f"field-question-{name}",
        style={"min_height": "44px", "display": "flex", "align_items": "center"},
    )


def question_form() -> rx.Component:
    t = LocaleState.t
    return rx.form(
        rx.vstack(
            rx.flex(
                labelled_field(
                    t["office.question_label"],
                    rx.input(name="label", required=True, max_length=300, id="field-question-label", width="100%"),
                    "field-question-label",
                    flex="2",
                    min_width="14rem",
                ),
                labelled_field(
                    t["office.question_kind"],
                    rx.el.select(
                        *[rx.el.option(t[f"question.kind.{kind.value}"], value=kind.value) for kind in QuestionKind],
                        name="kind",
                        id="field-question-kind",
                        style={"min_height": "44px", "width": "100%"},
                    ),
                    "field-question-kind",
                    flex="1",
                    min_width="10rem",
                ),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            labelled_field(
                t["office.question_options"],
                rx.text_area(name="options", id="field-question-options", rows="3", width="100%"),
                "field-question-options",
                width="100%",
            ),
            rx.flex(
                _check("required", t["office.question_required"]),
                _check("per_ticket", t["office.question_per_ticket"]),
                _check("allow_buyer_edit", t["office.question_buyer_edit"], checked=True),
                spacing="4",
                wrap="wrap",
            ),
            rx.button(rx.icon("plus", size=16), t["office.question_add"], type="submit", id="question-add"),
            spacing="3",
            width="100%",
        ),
        on_submit=OfficeQuestionsState.add,
        reset_on_submit=False,
        id="question-form",
        width="100%",
    )


def questions_section() -> rx.Component:
    t = LocaleState.t
    return tab_panel(
        OfficeQuestionsState.loaded,
        rx.text(t["office.questions_hint"], size="2", color_scheme="gray"),
        question_form(),
        data_table(
            [
                Column(t["office.question_label"]),
                Column(t["office.question_kind"]),
                Column(t["office.question_asked"]),
                Column(t["office.question_options_short"]),
                Column.actions(),
            ],
            OfficeQuestionsState.questions,
            question_row,
            table_id="questions-table",
            empty_text=t["office.no_questions"],
            empty_id="no-questions",
        ),
        name="questions",
    )

"""`/scan`: the door scanner for staff, made for a phone held in one hand.

Sign in once -> pick the event (skipped when there is one) -> scan with the camera or type a
code -> a full-screen verdict. Every screen here reads the JS store (`scan_store.store`), so the
page keeps deciding, counting and queueing with the network gone, and after an offline reload.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.vars.base import Var, VarData

from bilten.components.document_locale import direction_provider
from bilten.components.layout import language_switcher
from bilten.components.qr_scanner import qr_scanner
from bilten.components.scan_store import action, call, direction, language, scan_bridge, store, tr, tr_count
from bilten.state.scan import ScanState

GREEN = "#0b7a3e"
RED = "#b3261e"
AMBER = "#8a5300"
MAX_WIDTH = "34rem"


def _fill(text: Var, **params: Var) -> Var:
    """A text with `{name}` placeholders filled in the browser (values from the store)."""
    expr = str(text)
    data = [text._get_all_var_data()]
    for name, value in params.items():
        expr = f"{expr}.replaceAll('{{{name}}}', String({value!s}))"
        data.append(value._get_all_var_data())
    return Var(_js_expr=f"({expr})", _var_type=str, _var_data=VarData.merge(*data))


def big_button(label: Var, **props) -> rx.Component:
    props.setdefault("size", "4")
    props.setdefault("width", "100%")
    return rx.button(label, min_height="3.5rem", **props)


# -- sign in -------------------------------------------------------------------------------------


def sign_in_view() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("scan.sign_in_title"), size="7", as_="h1"),
        rx.text(tr("scan.sign_in_subtitle"), color_scheme="gray"),
        rx.cond(
            ScanState.device_notice != "",
            rx.callout(
                ScanState.device_notice, icon="info", color_scheme="amber", id="scan-device-notice", width="100%"
            ),
        ),
        rx.cond(
            ~store("online", bool),
            rx.callout(tr("scan.sign_in_offline"), icon="wifi_off", color_scheme="amber", width="100%"),
        ),
        rx.form(
            rx.vstack(
                rx.cond(
                    ScanState.sign_in_error != "",
                    rx.callout(
                        ScanState.sign_in_error,
                        icon="triangle_alert",
                        color_scheme="red",
                        id="scan-sign-in-error",
                        width="100%",
                    ),
                ),
                _field(tr("scan.email"), "email", type_="email", auto_complete="username"),
                _field(tr("scan.password"), "password", type_="password", auto_complete="current-password"),
                _field(tr("scan.device_name"), "device_name", required=False, placeholder=tr("scan.device_name_hint")),
                big_button(tr("scan.sign_in"), type="submit", id="scan-sign-in-submit"),
                spacing="4",
                width="100%",
            ),
            on_submit=ScanState.sign_in,
            reset_on_submit=False,
            id="scan-sign-in-form",
            width="100%",
        ),
        language_switcher(),
        spacing="4",
        width="100%",
        padding_y="1.5rem",
    )


def _field(label: Var, name: str, *, type_: str = "text", required: bool = True, **props) -> rx.Component:
    input_id = f"scan-{name.replace('_', '-')}"
    return rx.vstack(
        rx.el.label(rx.text(label, size="3", weight="medium"), html_for=input_id),
        rx.input(name=name, id=input_id, type=type_, size="3", width="100%", required=required, **props),
        spacing="1",
        width="100%",
    )


# -- problems: a revoked device, staff no longer assigned -----------------------------------------------


def problem_view() -> rx.Component:
    revoked = store("problem", str) == "revoked"
    return rx.vstack(
        rx.cond(revoked, rx.icon("lock", size=56, color=RED), rx.icon("ban", size=56, color=RED)),
        rx.heading(rx.cond(revoked, tr("scan.revoked_title"), tr("scan.not_allowed")), size="7", as_="h1"),
        rx.text(rx.cond(revoked, tr("scan.device_revoked"), tr("scan.not_allowed_detail")), size="4"),
        rx.cond(
            revoked,
            big_button(
                tr("scan.sign_in_again"), on_click=[call("forgetDevice"), ScanState.sign_out], id="scan-sign-in-again"
            ),
            big_button(tr("scan.change_event"), on_click=call("changeEvent"), id="scan-problem-change-event"),
        ),
        id="scan-problem",
        custom_attrs={"data-problem": store("problem", str)},
        spacing="4",
        align="center",
        text_align="center",
        padding_y="3rem",
        width="100%",
    )


# -- picking the event ---------------------------------------------------------------------------


def picker_view() -> rx.Component:
    events = store("events", list[dict[str, str]])
    return rx.vstack(
        rx.heading(tr("scan.pick_event"), size="7", as_="h1"),
        rx.text(_fill(tr("scan.signed_in_as"), email=store("email", str)), color_scheme="gray", id="scan-signed-in-as"),
        rx.cond(
            events.length() == 0,
            rx.callout(tr("scan.no_events"), icon="info", color_scheme="gray", width="100%", id="scan-no-events"),
        ),
        rx.foreach(events, _event_button),
        rx.vstack(
            rx.el.label(rx.text(tr("scan.gate_label"), size="3", weight="medium"), html_for="scan-gate"),
            rx.input(
                id="scan-gate",
                default_value=store("gate", str),
                on_change=action("setGate"),
                size="3",
                width="100%",
                max_length=60,
                placeholder=tr("scan.gate_hint"),
            ),
            spacing="1",
            width="100%",
        ),
        _device_menu(),
        spacing="4",
        width="100%",
        padding_y="1.5rem",
    )


def _event_button(event: Var) -> rx.Component:
    return rx.el.button(
        rx.vstack(
            rx.text(event["title"], size="5", weight="bold"),
            rx.text(event["when"], size="3"),
            rx.text(event["venue"], size="2", color_scheme="gray"),
            rx.cond(event["gate"] != "", rx.badge(event["gate"], size="2", color_scheme="indigo")),
            spacing="1",
            align="start",
            text_align="start",
        ),
        on_click=call("selectEvent", event["id"]),
        class_name="scan-event",
        custom_attrs={"data-event-id": event["id"]},
        width="100%",
        padding="1rem",
        border_radius="12px",
        border="1px solid var(--gray-a6)",
        background="var(--color-panel-solid)",
        cursor="pointer",
        min_height="4.5rem",
    )


def _device_menu() -> rx.Component:
    """Language, and signing this phone out (asking first when scans wait to be uploaded)."""
    sign_out_now = [call("forgetDevice"), ScanState.sign_out]
    return rx.vstack(
        rx.separator(size="4"),
        language_switcher(),
        rx.cond(
            store("confirmSignOut", bool),
            rx.callout(
                rx.vstack(
                    rx.text(tr_count("scan.sign_out_confirm", store("queue", int))),
                    rx.hstack(
                        rx.button(
                            tr("scan.sign_out_anyway"),
                            color_scheme="red",
                            on_click=sign_out_now,
                            id="scan-sign-out-anyway",
                        ),
                        rx.button(tr("scan.cancel"), variant="soft", on_click=call("cancelSignOut")),
                        spacing="3",
                    ),
                    spacing="3",
                ),
                icon="triangle_alert",
                color_scheme="red",
                width="100%",
            ),
            rx.cond(
                store("queue", int) > 0,
                rx.button(
                    tr("scan.sign_out"),
                    variant="soft",
                    color_scheme="gray",
                    size="3",
                    on_click=call("askSignOut"),
                    id="scan-sign-out",
                ),
                rx.button(
                    tr("scan.sign_out"),
                    variant="soft",
                    color_scheme="gray",
                    size="3",
                    on_click=sign_out_now,
                    id="scan-sign-out",
                ),
            ),
        ),
        spacing="3",
        width="100%",
        padding_top="1rem",
    )


# -- scanning ---------------------------------------------------------------------------------


def offline_banner() -> rx.Component:
    return rx.cond(
        ~store("online", bool),
        rx.hstack(
            rx.icon("wifi_off", size=20),
            rx.text(tr_count("scan.offline_banner", store("queue", int)), weight="medium"),
            id="scan-offline-banner",
            custom_attrs={"data-queue": store("queue", int)},
            role="status",
            background="#fff1c2",
            color="#5c3b00",
            padding="0.6rem 0.9rem",
            border_radius="10px",
            width="100%",
            align="center",
            spacing="2",
        ),
    )


def counters() -> rx.Component:
    by_gate = store("counts.byGate", list[dict[str, str]])
    return rx.vstack(
        rx.hstack(
            rx.text(tr("scan.checked_in"), size="3", color_scheme="gray"),
            rx.text(
                store("counts.checkedIn", int).to_string() + " / " + store("counts.expected", int).to_string(),
                size="7",
                weight="bold",
                id="scan-count",
                dir="ltr",  # "checked in / expected" reads the same way in Arabic
                custom_attrs={"data-checked-in": store("counts.checkedIn", int)},
            ),
            align="baseline",
            spacing="3",
        ),
        rx.hstack(
            rx.foreach(
                by_gate,
                lambda g: rx.badge(
                    g["gate"].to(str) + ": " + g["n"].to(str), size="2", variant="soft", class_name="scan-gate-count"
                ),
            ),
            rx.cond(
                store("counts.pending", int) > 0,
                rx.badge(
                    tr_count("scan.pending", store("counts.pending", int)),
                    size="2",
                    color_scheme="amber",
                    id="scan-pending",
                ),
            ),
            wrap="wrap",
            spacing="2",
        ),
        spacing="1",
        width="100%",
        id="scan-counters",
    )


def camera() -> rx.Component:
    problem = store("camera", str)
    return rx.box(
        qr_scanner(
            on_scan=action("onCameraScan"),
            on_error=action("onCameraError"),
            key=store("cameraEpoch", int),
            styles={"container": {"width": "100%", "height": "100%"}, "video": {"objectFit": "cover"}},
        ),
        rx.cond(
            problem != "",
            rx.vstack(
                rx.icon("camera_off", size=40),
                rx.text(
                    Var(
                        _js_expr="scan.t['scan.' + scan.camera] ?? ''",
                        _var_type=str,
                        _var_data=problem._get_all_var_data(),
                    ),
                    size="4",
                    id="scan-camera-problem",
                ),
                rx.button(tr("scan.restart_camera"), on_click=call("restartCamera"), size="3"),
                position="absolute",
                inset="0",
                background="rgba(0,0,0,0.78)",
                color="white",
                align="center",
                justify="center",
                padding="1.5rem",
                text_align="center",
                spacing="3",
            ),
        ),
        id="scan-camera",
        position="relative",
        width="100%",
        aspect_ratio="1 / 1",
        max_height="55vh",
        border_radius="16px",
        overflow="hidden",
        background="#111",
    )


def manual_entry() -> rx.Component:
    return rx.vstack(
        rx.el.label(
            rx.text(tr("scan.manual_reference_label"), size="2", color_scheme="gray"), html_for="scan-manual-code"
        ),
        rx.hstack(
            rx.input(
                id="scan-manual-code",
                placeholder=tr("scan.manual_reference_placeholder"),
                on_key_down=action("onManualKey"),
                size="3",
                flex="1",
                auto_complete="off",
                auto_capitalize="characters",
                spell_check=False,
            ),
            rx.button(
                tr("scan.manual_submit"),
                on_click=call("submitManual"),
                size="3",
                id="scan-manual-submit",
                min_width="6rem",
            ),
            width="100%",
            spacing="2",
        ),
        spacing="1",
        width="100%",
    )


def data_status() -> rx.Component:
    return rx.hstack(
        rx.cond(
            store("swReady", bool) & store("hasData", bool),
            rx.badge(
                rx.icon("check", size=14),
                tr("scan.offline_ready"),
                color_scheme="green",
                variant="soft",
                size="1",
                id="scan-offline-ready",
            ),
        ),
        rx.cond(
            store("hasData", bool),
            rx.text(
                _fill(tr("scan.data_from"), time=store("dataAtText", str)),
                size="1",
                color_scheme="gray",
                id="scan-data-status",
            ),
            rx.text(tr("scan.no_data"), size="1", color_scheme="amber", id="scan-data-status"),
        ),
        rx.cond(store("syncing", bool), rx.text(tr("scan.syncing"), size="1", color_scheme="gray")),
        rx.cond(
            store("syncNote", str) != "",
            rx.text(store("syncNote", str), size="1", color_scheme="gray", id="scan-sync-note"),
        ),
        wrap="wrap",
        spacing="3",
    )


def conflicts_list() -> rx.Component:
    conflicts = store("conflicts", list[dict[str, str]])
    return rx.cond(
        conflicts.length() > 0,
        rx.el.details(
            rx.el.summary(_fill(tr("scan.conflicts"), count=conflicts.length())),
            rx.foreach(
                conflicts,
                lambda c: rx.text(
                    c["holder"].to(str) + " · " + c["text"].to(str), size="2", class_name="scan-conflict"
                ),
            ),
            id="scan-conflicts",
            width="100%",
        ),
    )


def scanner_view() -> rx.Component:
    event = store("event")
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading(
                    event.to(dict)["title"].to(str),
                    as_="h1",
                    size="4",
                    weight="bold",
                    trim="both",
                    id="scan-event-title",
                ),
                rx.text(
                    Var(
                        _js_expr="(scan.event?.gate || scan.gate || '')",
                        _var_type=str,
                        _var_data=event._get_all_var_data(),
                    ),
                    size="2",
                    color_scheme="gray",
                    id="scan-gate-name",
                ),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.badge(
                rx.cond(store("online", bool), tr("scan.online_badge"), tr("scan.offline_badge")),
                color_scheme=rx.cond(store("online", bool), "green", "amber"),
                size="2",
                id="scan-online",
            ),
            rx.button(
                rx.icon("list", size=18),
                tr("scan.change_event"),
                variant="soft",
                size="2",
                on_click=call("changeEvent"),
                id="scan-change-event",
            ),
            width="100%",
            align="center",
            spacing="3",
        ),
        offline_banner(),
        counters(),
        camera(),
        manual_entry(),
        data_status(),
        conflicts_list(),
        spacing="3",
        width="100%",
        padding_y="0.75rem",
    )


# -- the verdict --------------------------------------------------------------------------------


def verdict_overlay() -> rx.Component:
    kind = store("verdict?.kind", str)
    ok = store("verdict?.ok", bool)
    answers = store("verdict?.answers ?? []", list[dict[str, str]])
    background = rx.match(kind, ("valid", GREEN), ("error", AMBER), RED)
    icon = rx.match(
        kind,
        ("valid", rx.icon("circle_check", size=88)),
        ("already_used", rx.icon("history", size=88)),
        ("wrong_event", rx.icon("calendar_x", size=88)),
        ("cancelled", rx.icon("ban", size=88)),
        ("forged", rx.icon("shield_alert", size=88)),
        ("conflict", rx.icon("triangle_alert", size=88)),
        ("error", rx.icon("wifi_off", size=88)),
        rx.icon("circle_x", size=88),
    )
    # The live region is always in the page and the verdict is drawn inside it: screen readers
    # announce content that appears in an existing region (a region inserted with its text is often
    # missed). A new `key` per scan redraws it, so the same verdict twice is read twice.
    return rx.el.div(
        rx.cond(
            store("verdict", bool),
            rx.el.div(
                icon,
                rx.el.div(
                    store("verdict?.title", str),
                    id="scan-verdict-title",
                    font_size="clamp(2.4rem, 12vw, 4.5rem)",
                    font_weight="800",
                    line_height="1.05",
                ),
                rx.cond(
                    store("verdict?.holder", str) != "",
                    rx.el.div(
                        store("verdict?.holder", str),
                        id="scan-verdict-holder",
                        font_size="clamp(1.6rem, 8vw, 2.8rem)",
                        font_weight="700",
                    ),
                ),
                rx.cond(
                    store("verdict?.ticketType", str) != "",
                    rx.el.div(store("verdict?.ticketType", str), id="scan-verdict-type", font_size="1.5rem"),
                ),
                # The ticket's checkout answers (attendee name, size, diet...): online verdicts only,
                # the device's offline data holds no answers.
                rx.cond(
                    answers.length() > 0,
                    rx.el.div(
                        rx.foreach(
                            answers,
                            lambda a: rx.el.div(
                                a["question"].to(str) + ": " + a["value"].to(str), class_name="scan-verdict-answer"
                            ),
                        ),
                        id="scan-verdict-answers",
                        font_size="1.2rem",
                        max_width="28rem",
                    ),
                ),
                rx.cond(
                    store("verdict?.detail", str) != "",
                    rx.el.div(
                        store("verdict?.detail", str), id="scan-verdict-detail", font_size="1.35rem", max_width="28rem"
                    ),
                ),
                rx.cond(
                    store("verdict?.offline", bool),
                    rx.el.div(
                        tr("scan.offline_badge"),
                        font_size="1rem",
                        padding="0.2rem 0.8rem",
                        border="2px solid rgba(255,255,255,0.8)",
                        border_radius="999px",
                    ),
                ),
                rx.el.div(tr("scan.tap_to_continue"), font_size="1rem", opacity="0.85", margin_top="1.5rem"),
                id="scan-verdict",
                key=store("verdict?.seq", int),
                custom_attrs={
                    "data-result": kind,
                    "data-ok": rx.cond(ok, "true", "false"),
                    "data-offline": rx.cond(store("verdict?.offline", bool), "true", "false"),
                    "data-ms": store("verdict?.ms", int),
                    "data-seq": store("verdict?.seq", int),
                },
                on_click=call("dismissVerdict"),
                position="fixed",
                inset="0",
                z_index="1000",
                background=background,
                color="white",
                display="flex",
                flex_direction="column",
                align_items="center",
                justify_content="center",
                gap="0.9rem",
                padding="1.5rem",
                text_align="center",
                cursor="pointer",
            ),
        ),
        id="scan-verdict-live",
        role="alert",
        aria_live="assertive",
        aria_atomic="true",
    )


# -- the page -------------------------------------------------------------------------------------


def scan_page() -> rx.Component:
    where = direction()
    root = rx.el.div(
        scan_bridge(),
        rx.el.main(
            rx.cond(
                ~store("ready", bool),
                rx.center(rx.spinner(size="3"), padding_y="4rem"),
                rx.cond(
                    ~store("signedIn", bool),
                    sign_in_view(),
                    rx.cond(
                        store("problem", str) != "",
                        problem_view(),
                        rx.cond(store("event", bool), scanner_view(), picker_view()),
                    ),
                ),
            ),
            max_width=MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            width="100%",
        ),
        verdict_overlay(),
        id="app-root",
        dir=where,
        lang=language(),
        custom_attrs={
            "data-page": "scan",
            "data-loaded": rx.cond(ScanState.loaded & rx.State.is_hydrated, "true", "false"),
            "data-ready": rx.cond(store("ready", bool), "true", "false"),
            "data-online": rx.cond(store("online", bool), "true", "false"),
        },
        min_height="100dvh",
    )
    return direction_provider(root, dir=where)

"""The Python face of `assets/offline_scan.js`: Vars that read its store and its plain JS actions.

The scan page is rendered by Reflex, but what it shows while scanning comes from the JS module's
store (`useScan()`), because it must keep changing with the websocket down: a Reflex state var
stands still offline, and after an offline reload it shows its default. Buttons that must work
offline call the module's functions directly instead of going through Reflex's event queue.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import Var, VarData
from reflex_base.vars.function import ArgsFunctionOperation, FunctionStringVar, FunctionVar

from bilten.state.i18n import LocaleState
from bilten.state.scan import ScanState

# `rx.asset("offline_scan.js").importable_path`: assets/ is copied into .web/public, and Vite
# bundles the module from there like any other source file (it is not loaded as a script).
MODULE = "$/public/offline_scan.js"
NOBLE = "@noble/ed25519@3.2.0"  # imported by the module only where WebCrypto lacks Ed25519

_HOOK = "const scan = useScan();"


def _store_data() -> VarData:
    return VarData(imports={MODULE: [ImportVar(tag="useScan")]}, hooks={_HOOK: None})


def store(path: str, type_: Any = Any) -> Var:
    """A value of the store's snapshot (`scan.<path>`), re-rendered when it changes."""
    var = Var(_js_expr=f"scan.{path}", _var_data=_store_data())
    return var if type_ is Any else var.to(type_)


def tr(key: str) -> Var:
    """A `scan.*` text: the store's copy (kept for offline reloads), else the live catalog."""
    live = LocaleState.t[key]
    return Var(
        _js_expr=f"(scan.t[{json.dumps(key)}] ?? {live!s})",
        _var_type=str,
        _var_data=VarData.merge(_store_data(), live._get_all_var_data()),
    )


def tr_count(key: str, count: Var) -> Var:
    """A counted `scan.*` text in the form CLDR's plural rules pick for `count` in the page's
    language (`Intl.PluralRules`, the rules `bilten.i18n.translate_plural` applies on the server),
    `{count}` filled in; from the store's copy like `tr`, so it works offline too."""
    live, lang = LocaleState.t, language()
    form = f"((c) => scan.t[`{key}#${{c}}`] ?? ({live!s})[`{key}#${{c}}`])"
    expr = (
        f"((n, lang) => ({form}(new Intl.PluralRules(lang).select(n)) ?? {form}('other') ?? '{{count}}')"
        f".replaceAll('{{count}}', new Intl.NumberFormat(lang, {{numberingSystem: 'latn'}}).format(n)))"
        f"(Number({count!s}), {lang!s})"
    )
    data = VarData.merge(_store_data(), live._get_all_var_data(), lang._get_all_var_data(), count._get_all_var_data())
    return Var(_js_expr=f"({expr})", _var_type=str, _var_data=data)


def direction() -> Var:
    """ "rtl" or "ltr": the store's (kept for offline reloads) until the server said otherwise."""
    live = LocaleState.dir
    return Var(
        _js_expr=f"(scan.dir || {live!s})",
        _var_type=str,
        _var_data=VarData.merge(_store_data(), live._get_all_var_data()),
    )


def language() -> Var:
    live = LocaleState.lang
    return Var(
        _js_expr=f"(scan.dir ? scan.lang : {live!s})",
        _var_type=str,
        _var_data=VarData.merge(_store_data(), live._get_all_var_data()),
    )


def action(name: str) -> FunctionStringVar:
    """A function exported by the module, e.g. `onCameraScan`."""
    return FunctionStringVar.create(name, _var_data=VarData(imports={MODULE: [ImportVar(tag=name)]}))


def call(name: str, *args: Any) -> FunctionVar:
    """`() => name(...args)`: bound to a trigger, it runs at once, network or not."""
    return ArgsFunctionOperation.create((), action(name).call(*args))


class ScanBridge(rx.Fragment):
    """Renders nothing. Hands what the server said (device, events, live counters, texts) to the
    store whenever it changes, once the page's on_load has run: offline the store keeps its
    own copies, so the bridge never feeds it Reflex's defaults."""

    lib_dependencies: list[str] = [NOBLE]

    def add_hooks(self) -> list[str | Var]:
        values = {
            "token": ScanState.device_token,
            "deviceId": ScanState.device_id,
            "email": ScanState.device_email,
            "events": ScanState.events,
            "counts": ScanState.counts,
            "texts": LocaleState.t,
            "dir": LocaleState.dir,
            "lang": LocaleState.lang,
        }
        ready = ScanState.loaded & rx.State.is_hydrated
        body = ", ".join(f"{name}: {var!s}" for name, var in values.items())
        deps = ", ".join(str(var) for var in (ready, *values.values()))
        code = f"useEffect(() => {{ if ({ready!s}) {{ feed({{ {body} }}); }} }}, [{deps}]);"
        # `<html dir lang>` too (the toaster and Radix portals follow it), from the store offline.
        where, lang = direction(), language()
        document = (
            f"useEffect(() => {{ document.documentElement.dir = {where!s};"
            f" document.documentElement.lang = {lang!s}; }}, [{where!s}, {lang!s}]);"
        )
        return [
            Var(
                _js_expr=document,
                _var_data=VarData.merge(
                    where._get_all_var_data(),
                    lang._get_all_var_data(),
                    VarData(imports={"react": [ImportVar(tag="useEffect")]}),
                ),
            ),
            Var(
                _js_expr=code,
                _var_data=VarData.merge(
                    ready._get_all_var_data(),
                    *(var._get_all_var_data() for var in values.values()),
                    VarData(imports={"react": [ImportVar(tag="useEffect")], MODULE: [ImportVar(tag="feed")]}),
                ),
            ),
        ]


scan_bridge = ScanBridge.create


def connection_overlay(stateful: bool) -> rx.Component | None:
    """Reflex's "cannot connect" toast and pulsing icon, except on /scan: there, losing the
    server is a normal mode of work and the page shows its own offline banner (an app wrap:
    `app.app_wraps[(5, "Overlay")]`)."""
    if not stateful:
        return None
    from reflex.app import default_overlay_component

    on_scan_page = Var(
        _js_expr="routerLocation.pathname.startsWith('/scan')",
        _var_data=VarData(
            imports={"react-router": [ImportVar(tag="useLocation")]},
            hooks={"const routerLocation = useLocation();": None},
        ),
    ).to(bool)
    return rx.cond(on_scan_page, rx.fragment(), default_overlay_component())

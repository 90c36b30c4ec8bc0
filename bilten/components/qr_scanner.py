"""The camera QR scanner: `@yudiel/react-qr-scanner` wrapped as a client-only Reflex component.

Its decoder (zxing-cpp compiled to WebAssembly) would be fetched from a CDN; it is served from
`assets/zxing_reader.wasm` instead (copied from the `zxing-wasm` package the scanner depends on,
same version), so the camera works offline and nothing leaves the app's own origin.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex_base.vars.base import Var

SCANNER_PACKAGE = "@yudiel/react-qr-scanner"
SCANNER_VERSION = "2.6.0"
WASM_URL = "/zxing_reader.wasm"

# Any back camera, no minimum size: phones differ, and zxing reads 480p codes fine.
CAMERA_CONSTRAINTS = {"facingMode": "environment", "width": {"ideal": 1280}, "height": {"ideal": 720}}


class QrScanner(rx.NoSSRComponent):
    """`<Scanner>`: the camera view with a finder, calling `on_scan` with the codes of each frame.

    `on_scan` / `on_error` take plain JS functions (see `bilten.components.scan_store`): offline,
    Reflex events would only queue up until the websocket returns.
    """

    library = f"{SCANNER_PACKAGE}@{SCANNER_VERSION}"
    tag = "Scanner"

    on_scan: Var[Any]
    on_error: Var[Any]
    constraints: Var[dict[str, Any]]
    formats: Var[list[str]]
    allow_multiple: Var[bool]
    scan_delay: Var[int]
    retry_delay: Var[int]
    sound: Var[bool]
    paused: Var[bool]
    components: Var[dict[str, Any]]
    styles: Var[dict[str, Any]]

    def _get_dynamic_imports(self) -> str:
        # Point the decoder at our own copy of the wasm before the scanner first renders.
        locate = f"(path, prefix) => path.endsWith('.wasm') ? {json.dumps(WASM_URL)} : prefix + path"
        return (
            f"const {self.tag} = ClientSide(() => import('{SCANNER_PACKAGE}').then((mod) => {{"
            f" mod.setZXingModuleOverrides({{ locateFile: {locate} }}); return mod.{self.tag}; }}),"
            f" {json.dumps(self.tag)})"
        )

    @classmethod
    def create(cls, *children, **props) -> rx.Component:
        props.setdefault("formats", ["qr_code"])
        props.setdefault("constraints", CAMERA_CONSTRAINTS)
        props.setdefault("allow_multiple", True)  # the page tells presentations apart itself
        props.setdefault("scan_delay", 0)
        props.setdefault("retry_delay", 120)
        props.setdefault("sound", False)  # the page plays a sound per verdict
        props.setdefault("components", {"finder": True, "torch": True, "zoom": False, "onOff": False})
        return super().create(*children, **props)


qr_scanner = QrScanner.create

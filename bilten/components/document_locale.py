"""Keeps `<html dir lang>` in step with the reader's language, so the whole page turns RTL in Arabic."""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import Var, VarData

from bilten.state.i18n import LocaleState


class DocumentLocale(rx.Fragment):
    """Renders nothing; its effect writes the locale and direction onto `document.documentElement`.

    The layout's root element carries `dir`/`lang` too (it exists in the prerendered HTML), but
    things outside it (the toaster, scrollbars, Radix portals for selects and menus) follow `<html>`.
    """

    def add_hooks(self) -> list[str | Var]:
        lang, direction = LocaleState.lang, LocaleState.dir
        code = (
            "useEffect(() => {"
            f" document.documentElement.lang = {lang!s};"
            f" document.documentElement.dir = {direction!s};"
            f" }}, [{lang!s}, {direction!s}]);"
        )
        return [
            Var(
                _js_expr=code,
                _var_data=VarData.merge(
                    lang._get_all_var_data(),
                    direction._get_all_var_data(),
                    VarData(imports={"react": [ImportVar(tag="useEffect")]}),
                ),
            )
        ]


class DirectionProvider(rx.Component):
    """Radix's reading-direction context. Radix Themes' root Theme pins it to "ltr", so tables
    (scroll areas), selects and menus would stay left-to-right in Arabic without this inner one.
    The package is already in the build as a dependency of Radix Themes (same version)."""

    library = "@radix-ui/react-direction@1.2.0"
    tag = "DirectionProvider"

    dir: Var[str]


document_locale = DocumentLocale.create
direction_provider = DirectionProvider.create

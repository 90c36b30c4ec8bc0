"""Where keyboard focus goes when the page changes under it (WCAG 2.4.3 focus order, 2.4.7 visible).

- After a client-side navigation, focus moves to the new page's main heading (its `<h1>`, made
  focusable with `tabindex="-1"`), or to `<main>` when the page has no heading yet; a screen
  reader then reads where the reader arrived instead of staying on a link that no longer exists.
- When a part of a page replaces the control that was used (paying swaps the pay buttons for the
  confirmation), `focus_when` moves focus to the new part.

Both render nothing: they are React hooks on the page (`DocumentLocale` works the same way).
"""

from __future__ import annotations

import json

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import Var, VarData

# Polls for up to ~6 s, because pages render a spinner until their on_load handlers ran and may
# swap the heading element once their data arrives; stops as soon as the reader moved focus on.
_FOCUS_MAIN_HEADING = """
useEffect(() => {
  // Each page mounts its own copy of this hook: the document remembers the last path shown, so
  // the first page of a visit (a full load) keeps the browser's own focus.
  const before = window.__biltenShownPath;
  window.__biltenShownPath = biltenLocation.pathname;
  if (before === undefined || before === biltenLocation.pathname) return;
  let target = null, settled = 0, ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    const active = document.activeElement;
    if (target && active && active !== target && active !== document.body && document.contains(target)) {
      clearInterval(timer);
      return;
    }
    const loaded = document.querySelector('#app-root[data-loaded="true"]');
    const next = document.querySelector("main h1") || document.querySelector("main");
    if (next && next !== active) {
      if (!next.hasAttribute("tabindex")) next.setAttribute("tabindex", "-1");
      next.focus();
      target = next;
      settled = 0;
    } else if (loaded) {
      settled += 1;
    }
    if (settled >= 6 || ticks > 120) clearInterval(timer);
  }, 50);
  return () => clearInterval(timer);
}, [biltenLocation.pathname]);
"""


class FocusOnNavigation(rx.Fragment):
    """Moves focus to the main heading after every client-side route change (not on the first load)."""

    def add_hooks(self) -> list[str | Var]:
        return [
            "const biltenLocation = useLocation();",
            Var(
                _js_expr=_FOCUS_MAIN_HEADING,
                _var_data=VarData(
                    imports={
                        "react": [ImportVar(tag="useEffect")],
                        "react-router": [ImportVar(tag="useLocation")],
                    }
                ),
            ),
        ]


def focus_when(value: Var, *, to: str, target_id: str) -> rx.Component:
    """Focuses the element `target_id` when `value` changes to `to` (not when the page opens with it).

    The effect travels in the var data of an empty child (`null`), so each use brings its own hook."""
    ref = f"biltenSeen_{target_id.replace('-', '_')}"
    code = (
        f"const {ref} = useRef(undefined);\n"
        "useEffect(() => {"
        f" const now = String({value!s});"
        f" const before = {ref}.current;"
        f" {ref}.current = now;"
        f" if (before === undefined || before === now || now !== {json.dumps(to)}) return;"
        " const timer = setTimeout(() => {"
        f" const el = document.getElementById({json.dumps(target_id)});"
        " if (!el) return;"
        ' if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");'
        " el.focus();"
        " }, 0);"
        " return () => clearTimeout(timer);"
        f" }}, [{value!s}]);"
    )
    hook = VarData.merge(
        value._get_all_var_data(),
        VarData(
            hooks={code: None},
            imports={"react": [ImportVar(tag="useEffect"), ImportVar(tag="useRef")]},
        ),
    )
    return rx.fragment(Var(_js_expr="null", _var_type=str, _var_data=hook))


focus_on_navigation = FocusOnNavigation.create

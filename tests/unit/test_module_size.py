"""Rooms stay small enough to read: no module in `bilten/` grows past 700 lines (issue #16).

A module that reaches the limit is split by what it does (as `notifications/email_layout.py` was
taken out of `rendering.py`), not by moving lines around to pass this test."""

from pathlib import Path

import bilten

LIMIT = 700


def test_no_module_in_bilten_is_over_700_lines():
    root = Path(bilten.__file__).parent
    too_long = {
        str(path.relative_to(root.parent)): lines
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert too_long == {}, f"modules over {LIMIT} lines: {too_long}"

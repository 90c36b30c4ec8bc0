#!/usr/bin/env python3
"""Add or update translation keys in every catalog at once, safely when several people edit.

Usage: scripts/add-translations.py new-keys.json
where new-keys.json is {"some.key": {"en": "English text", "ar": "النص العربي"}, ...}.
Every catalog in locales/ must get every key (tests check it); existing keys are overwritten.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def main(path: str) -> None:
    new_keys: dict[str, dict[str, str]] = json.loads(Path(path).read_text(encoding="utf-8"))
    catalogs = sorted(LOCALES.glob("*.json"))
    locales = {catalog.stem for catalog in catalogs}
    for key, texts in new_keys.items():
        missing = locales - set(texts)
        if missing:
            sys.exit(f"{key}: no text for {', '.join(sorted(missing))}")
    with open(LOCALES / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for catalog in catalogs:
            entries = json.loads(catalog.read_text(encoding="utf-8"))
            for key, texts in new_keys.items():
                entries[key] = texts[catalog.stem]
            catalog.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(new_keys)} keys written to {', '.join(c.name for c in catalogs)}")


if __name__ == "__main__":
    main(sys.argv[1])

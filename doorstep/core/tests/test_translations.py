"""The English catalogue is complete and the committed .mo matches the .po (no gettext needed here)."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"


def _po_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    fuzzy = False
    key = None
    current: list[str] = []
    target = None
    lines = (LOCALE / "django.po").read_text(encoding="utf-8").splitlines() + [""]
    for line in lines:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if line.startswith("msgid "):
            target, current = "id", [ast.literal_eval(line[6:])]
        elif line.startswith("msgstr "):
            key = "".join(current)
            target, current = "str", [ast.literal_eval(line[7:])]
        elif line.startswith('"'):
            current.append(ast.literal_eval(line))
        elif not line.strip() and target == "str":
            if key:
                assert not fuzzy, f"fuzzy translation for {key!r}"
                entries[key] = "".join(current)
            fuzzy, key, target, current = False, None, None, []
    return entries


def test_every_message_is_translated():
    entries = _po_entries()
    assert len(entries) > 250
    missing = [k for k, v in entries.items() if not v.strip()]
    assert not missing, f"untranslated: {missing[:10]}"


def test_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = [k for k, v in _po_entries().items() if compiled.gettext(k) != v]
    assert not stale, f"django.mo is stale (run `make messages`): {stale[:5]}"

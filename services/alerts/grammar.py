"""« de » before a commune's name, as French writes it: d'Ailleville, de Jaucourt, du Chêne, des Riceys."""
from __future__ import annotations

from flask_babel import get_locale

VOWELS = "AEIOUYÂÀÄÉÈÊËÎÏÔÖÛÙÜŒ"


def of_commune(name: str, lang: str | None = None) -> str:
    name = (name or "").strip()
    if lang is None:
        locale = get_locale()
        lang = locale.language if locale is not None else "en"
    if lang != "fr":
        return f"of {name}"
    if name.startswith("Les "):
        return f"des {name[4:]}"
    if name.startswith("Le "):
        return f"du {name[3:]}"
    if name[:1].upper() in VOWELS:
        return f"d'{name}"
    return f"de {name}"

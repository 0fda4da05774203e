"""French typography for the interface, PDFs and e-mails, written once (registered as Jinja filters).

- :func:`de` — « de » with élision: ``de("Ailleville")`` → « d'Ailleville », ``de("Troyes")`` → « de Troyes »;
  a name starting with « Le »/« Les » contracts: « du Mesnil-Saint-Loup », « des Riceys ».
- :func:`number` — « 2 857 », « 12,5 » (narrow no-break space between thousands, decimal comma).
- :func:`money` — « 0,00 € », « 1 250,00 € ».
- :func:`plural` — « 1 destinataire », « 2 destinataires » (the count formatted with :func:`number`).
- :func:`of` — :func:`de` in French, « of » + name in English: for msgids such as ``"the audit log %(of_name)s"``.

Templates: ``{{ name|de }}``, ``{{ name|of }}``, ``{{ n|number }}``, ``{{ amount|money }}``, ``{{ n|plural("destinataire") }}``.
Python code outside a template imports the functions.
"""
from __future__ import annotations

import unicodedata
from decimal import Decimal

from babel.numbers import format_currency, format_decimal

NNBSP = "\u202f"  # narrow no-break space: thousands separator and before « ; ! ? »
NBSP = "\u00a0"
VOWELS = set("aeiouyh")  # a silent h elides in place names (Haute-…, Herbisse: « d'Herbisse »)
ASPIRATED_H = ("hau", "hon", "ham", "han", "har")  # « de Hampigny », « de Harricourt »


def _folded_first(name: str) -> str:
    base = unicodedata.normalize("NFKD", name[:1]).encode("ascii", "ignore").decode().lower()
    return base


def de(name) -> str:
    """« de » + name, elided before a vowel or a mute h, contracted with the article « Le » / « Les »."""
    name = str(name or "").strip()
    if not name:
        return "de"
    lowered = name.lower()
    if lowered.startswith("les "):
        return "des " + name[4:]
    if lowered.startswith("le "):
        return "du " + name[3:]
    if lowered.startswith(("la ", "l'", "l’")):
        return "de " + name
    first = _folded_first(name)
    if first in VOWELS and not lowered.startswith(ASPIRATED_H):
        return "d'" + name
    return "de " + name


def number(value, digits: int | None = None) -> str:
    """A number as French readers write it: « 2 857 », « 12,5 » (``digits``: fixed decimals)."""
    if value is None or value == "":
        return ""
    if digits is None:
        text = format_decimal(value, locale="fr_FR")
    else:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        text = format_decimal(value, format=pattern, locale="fr_FR")
    return text.replace(NBSP, NNBSP)


def money(value, currency: str = "EUR") -> str:
    """« 1 250,00 € »: two decimals, narrow no-break space between thousands, no-break space before the symbol."""
    if value is None or value == "":
        return ""
    return format_currency(Decimal(str(value)), currency, locale="fr_FR")  # CLDR fr: « 1 250,00 € »


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """« 0 destinataire », « 1 destinataire », « 2 857 destinataires » (French: 0 and 1 take the singular)."""
    word = singular if (count or 0) < 2 else (plural_form or singular + "s")
    return f"{number(count)}{NBSP}{word}"


def of(name) -> str:
    """« d'Ailleville » when the page is in French, « of Ailleville » in English."""
    from flask_babel import get_locale

    locale = get_locale()
    if locale is not None and locale.language != "fr":
        return f"of {str(name or '').strip()}"
    return de(name)


def register(app) -> None:
    app.jinja_env.filters["de"] = de
    app.jinja_env.filters["of"] = of
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["plural"] = plural

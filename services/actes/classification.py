"""The préfecture's classification (``actes:RetourClassification``): natures of acts and matières up to five levels.

A classification is read from its XML (ISO-8859-1) into a :class:`Nomenclature` — the date of its version and
``{"7.1": "Finances locales / Décisions budgétaires", …}`` — which the deposit form's picker and the pre-flight
checks use. Each préfecture has its own; until the TdT gives one, the national nomenclature shipped in ``data/`` is
loaded for it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
DATA = Path(__file__).parent / "data"
DEFAULT_FILE = DATA / "classification-s2low-2004.xml"


class ClassificationError(ValueError):
    """The XML is not a classification we can read (English message, for the logs)."""


@dataclass
class Nomenclature:
    version_date: dt.date
    natures: dict[int, str] = field(default_factory=dict)  # code → label
    matieres: dict[str, str] = field(default_factory=dict)  # "7.1" → "Finances locales / Décisions budgétaires"

    def label(self, code: str) -> str:
        return self.matieres.get(code, "")

    def search(self, words: str, limit: int = 30) -> list[tuple[str, str]]:
        """Matières whose code or label contains every word (case and accents ignored)."""
        from portal.models import fold

        wanted = fold(words or "").split()
        out = []
        for code, label in self.matieres.items():
            hay = fold(f"{code} {label}")
            if all(w in hay for w in wanted):
                out.append((code, label))
                if len(out) >= limit:
                    break
        return out


def _a(el, name: str) -> str:
    return el.get(f"{{{NS}}}{name}") or el.get(name) or ""


def parse(xml: bytes) -> Nomenclature:
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ClassificationError(f"classification is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{NS}}}RetourClassification":
        raise ClassificationError(f"expected actes:RetourClassification, got {root.tag}")
    date_text = root.findtext(f"{{{NS}}}DateClassification") or ""
    try:
        version = dt.date.fromisoformat(date_text.strip())
    except ValueError as exc:
        raise ClassificationError(f"classification date {date_text!r} is not a date") from exc
    nom = Nomenclature(version)
    for n in root.iter(f"{{{NS}}}NatureActe"):
        try:
            nom.natures[int(_a(n, "CodeNatureActe"))] = _a(n, "Libelle")
        except ValueError:
            continue
    matieres = root.find(f"{{{NS}}}Matieres")
    if matieres is not None:
        _walk(matieres, 1, "", "", nom.matieres)
    return nom


def _walk(parent, level: int, prefix: str, path: str, out: dict[str, str]) -> None:
    if level > 5:
        return
    for el in parent.findall(f"{{{NS}}}Matiere{level}"):
        code = f"{prefix}{_a(el, 'CodeMatiere')}"
        label = _a(el, "Libelle").strip()
        full = f"{path} / {label}" if path else label
        out[code] = full
        _walk(el, level + 1, f"{code}.", full, out)


def default_xml() -> bytes:
    return DEFAULT_FILE.read_bytes()

"""ACTES 1.1 business messages: the ``actes:Acte`` form we build for an act (ISO-8859-1, the protocol's file names),
validated against ``actesv1_1.xsd`` before anything leaves, and the reading of any message the TdT or the
préfecture sends (ARActe, envelopes, courriers, anomalies…).

- :func:`build_acte` → bytes of the form; :func:`validate` raises :class:`MessageError` listing the schema's
  complaints; :func:`file_names` gives the names of the protocol
  (``{dept}-{SIREN}-{YYYYMMDD}-{numéro}-{nature}-1-1_{n}.{ext}``, ``_0`` the form, ``_1`` the act, then annexes).
- :func:`read` → :class:`Message` (type, identifiers, dates, whether the current schema accepts it). A message that
  is not XML, not of the ACTES namespace or of a type we do not know raises :class:`MessageError` — an error to
  report, never a crash. Older messages that predate the schema revision (no ``DocumentPapier``) are read and marked
  ``schema_valid=False``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
INSEE_NS = "http://xml.insee.fr/schema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = Path(__file__).parent / "data" / "xsd" / "actesv1_1.xsd"
NSMAP = {"actes": NS, "insee": INSEE_NS, "xsi": XSI}

KNOWN = ("Acte", "ARActe", "AnomalieActe", "EnveloppeCLMISILL", "EnveloppeMISILLCL", "AnomalieEnveloppe",
         "CourrierSimple", "ReponseCourrierSimple", "DemandePieceComplementaire", "ARDemandePieceComplementaire",
         "RefusPieceComplementaire", "PieceComplementaire", "ARPieceComplementaire", "LettreObservations",
         "ARLettreObservations", "RejetLettreObservations", "ReponseLettreObservations",
         "ARReponseRejetLettreObservations", "DefereTA", "Annulation", "ARAnnulation", "DemandeClassification",
         "ReponseClassificationSansChangement", "RetourClassification")


class MessageError(ValueError):
    """A message we cannot build or read (English text for logs and for operators' JSON)."""


@dataclass
class ActForm:
    """What the form of an act says (built from an Act row by operations.py)."""
    department: str  # 3 characters, e.g. "010"
    siren: str
    decision_date: dt.date
    number: str
    nature: int
    nature_code: str  # DE, AR…
    matiere: str  # "7.1"
    subject: str
    classification_date: dt.date
    annex_extensions: list[str] = field(default_factory=list)
    act_extension: str = "pdf"
    paper: bool = False


def unique_id(department: str, siren: str, decision_date: dt.date, number: str, nature_code: str) -> str:
    return f"{department}-{siren}-{decision_date:%Y%m%d}-{number}-{nature_code}"


def file_names(form: ActForm) -> dict[str, object]:
    base = f"{unique_id(form.department, form.siren, form.decision_date, form.number, form.nature_code)}-1-1"
    return {"form": f"{base}_0.xml", "act": f"{base}_1.{form.act_extension}",
            "annexes": [f"{base}_{i + 2}.{ext}" for i, ext in enumerate(form.annex_extensions)]}


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def build_acte(form: ActForm) -> bytes:
    names = file_names(form)
    root = etree.Element(_q("Acte"), nsmap=NSMAP)
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} actesv1_1.xsd")
    root.set(_q("Date"), form.decision_date.isoformat())
    root.set(_q("NumeroInterne"), form.number)
    root.set(_q("CodeNatureActe"), str(form.nature))
    for level, code in enumerate(form.matiere.split(".")[:5], start=1):
        etree.SubElement(root, _q(f"CodeMatiere{level}")).set(_q("CodeMatiere"), code)
    etree.SubElement(root, _q("Objet")).text = form.subject
    etree.SubElement(root, _q("ClassificationDateVersion")).text = form.classification_date.isoformat()
    doc = etree.SubElement(root, _q("Document"))
    etree.SubElement(doc, _q("NomFichier")).text = names["act"]
    annexes = etree.SubElement(root, _q("Annexes"))
    annexes.set(_q("Nombre"), str(len(names["annexes"])))
    for name in names["annexes"]:
        etree.SubElement(etree.SubElement(annexes, _q("Annexe")), _q("NomFichier")).text = name
    etree.SubElement(root, _q("DocumentPapier")).text = "O" if form.paper else "N"
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def schema_errors(xml: bytes) -> list[str]:
    doc = _parse(xml)
    s = schema()
    if s.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in s.error_log]


def validate(xml: bytes) -> None:
    errors = schema_errors(xml)
    if errors:
        raise MessageError("message does not conform to actesv1_1.xsd: " + "; ".join(errors[:5]))


def _parse(xml: bytes):
    try:
        return etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                            huge_tree=False)).getroottree()
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MessageError(f"not well-formed XML: {exc}") from exc


@dataclass
class Message:
    type: str
    identifiers: dict[str, str]
    dates: dict[str, str]
    files: list[str]
    schema_valid: bool
    schema_errors: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


def _attr(el, name: str) -> str | None:
    return el.get(_q(name)) or el.get(f"{{{INSEE_NS}}}{name}") or el.get(name)


def read(xml: bytes) -> Message:
    """What a message holds; :class:`MessageError` when it is not an ACTES message we know."""
    root = _parse(xml).getroot()
    if not isinstance(root.tag, str) or not root.tag.startswith(f"{{{NS}}}"):
        raise MessageError(f"root element {root.tag!r} is not of the ACTES namespace")
    kind = root.tag[len(NS) + 2:]
    if kind not in KNOWN:
        raise MessageError(f"unknown ACTES message type {kind!r}")
    identifiers: dict[str, str] = {}
    dates: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = el.tag.split("}")[-1]
        for key in ("IDActe", "NumeroInterne", "CodeNatureActe", "SIREN", "Departement", "Arrondissement"):
            value = _attr(el, key)
            if value and key not in identifiers:
                identifiers[key] = value
        for attr, value in el.attrib.items():
            name = attr.split("}")[-1]
            if name.startswith("Date") and name not in dates:
                dates[name] = value
        if local.startswith("Date") or local.startswith("ClassificationDateVersion"):
            if el.text and el.text.strip() and local not in dates:
                dates[local] = el.text.strip()
    if kind in ("Acte", "ARActe") and "IDActe" not in identifiers:
        matieres = [(_attr(e, "CodeMatiere") or "") for e in root.iter() if isinstance(e.tag, str)
                    and e.tag.split("}")[-1].startswith("CodeMatiere")]
        identifiers["CodeMatiere"] = ".".join(m for m in matieres if m)
    files = [t.strip() for t in (e.text for e in root.iter(_q("NomFichier"))) if t and t.strip()]
    errors = schema_errors(xml)
    return Message(kind, identifiers, dates, files, not errors, errors)

"""Pre-flight checks of an act: what the préfecture (or the TdT) would refuse, said before anything is sent.

:func:`preflight` runs every rule on a :class:`Deposit` and returns a :class:`Report`: ``errors`` (the act cannot
leave; each names its rule, e.g. ``number_format``, with a French message) and ``warnings`` (it may leave, e.g. a
scan without text). The rules:

- ``nature``: one of the six natures of the protocol (1 DE … 6 AU);
- ``number_format``: numéro interne of 1–15 characters among ``A-Z 0-9 _``, not starting or ending with ``_``;
- ``number_unique``: not already used by the collectivity (a free suffix is suggested);
- ``decision_date``: not in the future;
- ``subject_length``: objet present, at most 499 characters;
- ``matiere_unknown``: the matière exists in the classification; ``classification_outdated``: the stored copy of
  the préfecture's classification is older than the version the préfecture says is in force;
- ``act_pdf``: the act is a real PDF, parsed by the portal's ``check_upload`` (broken, encrypted, JavaScript or
  automatic-action PDFs refused);
- ``annex_type``: annexes are PDF, JPEG or PNG (``check_upload`` again), XML only for nature 5 with matière 7.1;
- ``piece_type``: every type de pièce matches ``^[A-Z0-9_]{5}$``;
- ``total_size``: act and annexes together at most 150 MiB;
- ``scan_without_text`` (warning): a PDF with no text layer.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from portal.uploads import UploadInfo, UploadRejected, check_upload

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"^[A-Z0-9_]{1,15}$")
PIECE_TYPE_RE = re.compile(r"^[A-Z0-9_]{5}$")
MAX_SUBJECT = 499
MAX_TOTAL = 150 * 1024 * 1024
ANNEX_KINDS = {"pdf", "jpeg", "png"}


@dataclass
class Upload:
    filename: str
    data: bytes
    piece_type: str = ""


@dataclass
class Deposit:
    nature: int
    matiere: str
    number: str
    decision_date: dt.date | None
    subject: str
    act: Upload | None
    annexes: list[Upload] = field(default_factory=list)


@dataclass
class Problem:
    rule: str
    message: str
    field: str = ""


@dataclass
class Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    suggestion: str | None = None  # a free number when the one given is taken

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self) -> set[str]:
        return {p.rule for p in self.errors}


def suggest_number(number: str, taken: set[str]) -> str:
    for i in range(2, 100):
        suffix = f"_{i}"
        candidate = number[:15 - len(suffix)].rstrip("_") + suffix
        if candidate not in taken:
            return candidate
    return ""


def _upload(up: Upload, allowed: set[str]) -> tuple[UploadInfo | None, str | None]:
    """The portal's upload check (content parsed, not just named): the file's facts, or the French reason."""
    try:
        return check_upload(up.data, up.filename, allowed=allowed, max_bytes=MAX_TOTAL), None
    except UploadRejected as exc:
        log.info("actes: file refused: %s", exc.reason_en)
        return None, str(exc.message_fr)


def preflight(d: Deposit, *, matieres: dict[str, str], stored_version: dt.date | None,
              prefecture_version: dt.date | None, taken_numbers: set[str], today: dt.date) -> Report:
    r = Report()
    if d.nature not in range(1, 7):
        r.errors.append(Problem("nature", _("Nature: choose one of the six natures of acts."), "nature"))
    _number(d, taken_numbers, r)
    if d.decision_date is None:
        r.errors.append(Problem("decision_date", _("Decision date: give the date the act was taken."), "decision_date"))
    elif d.decision_date > today:
        r.errors.append(Problem("decision_date", _("Decision date: %(date)s is in the future; the préfecture refuses "
                                                   "an act not yet taken.", date=d.decision_date.strftime("%d/%m/%Y")),
                                "decision_date"))
    subject = (d.subject or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        r.errors.append(Problem("subject_length", _("Objet: between 1 and %(max)d characters (now %(n)d).",
                                                    max=MAX_SUBJECT, n=len(subject)), "subject"))
    if stored_version and prefecture_version and stored_version < prefecture_version:
        r.errors.append(Problem("classification_outdated", _(
            "Classification: the copy kept here (%(ours)s) is older than the préfecture's (%(theirs)s); it is being "
            "fetched again, try again in a moment.", ours=stored_version.strftime("%d/%m/%Y"),
            theirs=prefecture_version.strftime("%d/%m/%Y")), "matiere"))
    elif d.matiere not in matieres:
        r.errors.append(Problem("matiere_unknown", _("Matière: %(code)s is not in the préfecture's current "
                                                     "classification.", code=d.matiere or "—"), "matiere"))
    _files(d, r)
    return r


def _number(d: Deposit, taken: set[str], r: Report) -> None:
    n = d.number or ""
    if not NUMBER_RE.match(n) or n.startswith("_") or n.endswith("_"):
        r.errors.append(Problem("number_format", _(
            "Numéro: 1 to 15 characters among capital letters A-Z, digits and « _ », not starting or ending with "
            "« _ » (received « %(number)s »).", number=n), "number"))
    elif n in taken:
        r.suggestion = suggest_number(n, taken)
        r.errors.append(Problem("number_unique", _(
            "Numéro: « %(number)s » is already used by an act of the collectivity; for example « %(free)s » is "
            "free.", number=n, free=r.suggestion), "number"))


def _files(d: Deposit, r: Report) -> None:
    total = 0
    if d.act is None or not d.act.data:
        r.errors.append(Problem("act_pdf", _("Act: add the act as a PDF file."), "act"))
    else:
        total += len(d.act.data)
        info, reason = _upload(d.act, {"pdf"})
        if reason:
            r.errors.append(Problem("act_pdf", _("Act « %(name)s »: %(reason)s", name=d.act.filename,
                                                 reason=reason), "act"))
        elif "scan" in info.warnings:
            r.warnings.append(Problem("scan_without_text", _(
                "Act « %(name)s »: a scan without text; it is accepted, but residents cannot search it.",
                name=d.act.filename), "act"))
        _piece_type(d.act, r)
    budget = d.nature == 5 and d.matiere.startswith("7.1")
    for up in d.annexes:
        total += len(up.data)
        if up.filename.lower().endswith(".xml") and not budget:
            r.errors.append(Problem("annex_type", _(
                "Annexe « %(name)s »: XML is accepted only for a budget act (nature 5, matière 7.1).",
                name=up.filename), "annexes"))
        else:
            _info, reason = _upload(up, ANNEX_KINDS | ({"xml"} if budget else set()))
            if reason:
                r.errors.append(Problem("annex_type", _("Annexe « %(name)s »: %(reason)s", name=up.filename,
                                                        reason=reason), "annexes"))
        _piece_type(up, r)
    if total > MAX_TOTAL:
        r.errors.append(Problem("total_size", _("Files: %(mb)d MiB in all, the préfecture accepts at most 150 MiB.",
                                                mb=total // (1024 * 1024)), "annexes"))


def _piece_type(up: Upload, r: Report) -> None:
    if not PIECE_TYPE_RE.match(up.piece_type or ""):
        r.errors.append(Problem("piece_type", _(
            "Type de pièce of « %(name)s »: 5 characters among A-Z, 0-9 and « _ » (e.g. 99_DE), received "
            "« %(type)s ».", name=up.filename, type=up.piece_type or ""), "annexes"))

"""Writes of the Actes service, shared by the pages, the API, the CLI and the Celery tasks (no ``flask.request``).

Here: the collectivity's facts the protocol needs (department, préfecture, TdT account), the préfecture's
classification (kept copy, version in force, fetch again), the pre-flight :func:`check` and :func:`create_draft`
(« brouillon », files stored). Sending, polling, replies and cancellation are in ``transmission.py``.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.audiences import audience_scope
from portal.extensions import db
from portal.models import Collectivity, utcnow

from . import classification as classif
from . import message, storage, tdt
from .checks import Deposit, Report, Upload, preflight
from .models import NATURES, Act, ActFile, ActStatusChange, Classification, PrefectureState, TdtAccount
from .schemas import ActFields

log = logging.getLogger(__name__)


# Collectivity facts the protocol needs --------------------------------------------------------------------------

def act_commune(coll: Collectivity) -> str:
    """The INSEE code an act of the collectivity is scoped to: the commune's, or an EPCI's first member's."""
    if coll.insee:
        return coll.insee
    members = sorted(m.insee for m in coll.members if m.insee)
    if not members:
        raise ValueError(f"collectivity {coll.id} has no commune to scope its acts to")
    return members[0]


def department3(coll: Collectivity) -> str:
    return (coll.department_code or "").zfill(3)


def account_of(coll: Collectivity) -> TdtAccount | None:
    return db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == coll.id))


def public_facts(coll: Collectivity) -> tuple[str, str]:
    """(SIRET, préfecture) of the collectivity's TdT account, ``("", "")`` without one: public facts (the open data
    of its délibérations prints them), read in the system context so that public pages and TdT callbacks, where no
    collectivity is signed in, see them through the account's row-level security (actes_0015_credentials_rls). Only
    these two columns: the credentials stay behind the policy."""
    with audience_scope(None):
        row = db.session.execute(select(TdtAccount.siret, TdtAccount.prefecture)
                                 .where(TdtAccount.collectivity_id == coll.id)).first()
    return (row.siret or "", row.prefecture or "") if row else ("", "")


def prefecture_of(coll: Collectivity) -> str:
    prefecture = public_facts(coll)[1]
    return prefecture or f"PREF{department3(coll)}"


# Classification ---------------------------------------------------------------------------------------------------

def stored_classification(prefecture: str) -> Classification:
    """The newest copy kept for the préfecture; the national nomenclature shipped with the service when none."""
    row = db.session.scalar(select(Classification).where(Classification.prefecture == prefecture)
                            .order_by(Classification.version_date.desc()).limit(1))
    if row is None:
        xml = classif.default_xml()
        row = Classification(prefecture=prefecture, version_date=classif.parse(xml).version_date, xml=xml)
        db.session.add(row)
        db.session.flush()
    return row


def nomenclature(prefecture: str) -> tuple[classif.Nomenclature, dt.date, dt.date | None]:
    """(parsed classification, date of our copy, date of the version the préfecture says is in force)."""
    row = stored_classification(prefecture)
    state = db.session.get(PrefectureState, prefecture)
    return classif.parse(row.xml), row.version_date, state.current_version if state else None


def note_prefecture_version(prefecture: str, version: dt.date) -> None:
    state = db.session.get(PrefectureState, prefecture)
    if state is None:
        db.session.add(PrefectureState(prefecture=prefecture, current_version=version))
    elif state.current_version is None or version > state.current_version:
        state.current_version, state.checked_at = version, utcnow()


def refresh_classification(prefecture: str, conn: tdt.Connector | None = None) -> Classification:
    """Fetch the préfecture's classification from the TdT and keep it (a version already kept is not duplicated)."""
    conn = conn or tdt.connector()
    xml = conn.classification()
    nom = classif.parse(xml)
    row = db.session.scalar(select(Classification).where(Classification.prefecture == prefecture,
                                                         Classification.version_date == nom.version_date))
    if row is None:
        row = Classification(prefecture=prefecture, version_date=nom.version_date, xml=xml)
        db.session.add(row)
    note_prefecture_version(prefecture, nom.version_date)
    return row


MAX_CLASSIFICATION_BYTES = 5 * 1024 * 1024


def import_classification(prefecture: str, xml: bytes, *, today: dt.date | None = None) -> Classification:
    """Keep a classification file the department uploaded (when the TdT cannot give it). The whole file is checked
    first — ``ValueError`` with a French message, nothing written — then kept as the préfecture's copy, as if fetched:
    the version the préfecture has in force is at least this one."""
    today = today or local_today()
    if not xml or not xml.strip():
        raise ValueError(_("The file is empty."))
    if len(xml) > MAX_CLASSIFICATION_BYTES:
        raise ValueError(_("This file is too large to be a classification (5 MiB at most)."))
    if b"<!DOCTYPE" in xml[:4096].upper() or b"<!ENTITY" in xml.upper():
        raise ValueError(_("The file declares a DOCTYPE or entities: a classification of the préfecture has none."))
    try:
        nom = classif.parse(xml)
    except classif.ClassificationError as exc:
        log.info("actes: uploaded classification for %s refused: %s", prefecture, exc)
        text = str(exc)
        if "well-formed" in text:
            raise ValueError(_("The file is not well-formed XML: %(detail)s", detail=text.split(": ", 1)[-1])) from exc
        if "expected actes:RetourClassification" in text:
            raise ValueError(_("The file is not a classification of the préfecture (« RetourClassification » of the "
                               "ACTES protocol expected).")) from exc
        raise ValueError(_("The date of the classification (DateClassification) is missing or is not a date "
                           "(AAAA-MM-JJ).")) from exc
    if nom.version_date > today:
        raise ValueError(_("The classification is dated %(date)s, a date in the future.",
                           date=nom.version_date.strftime("%d/%m/%Y")))
    if not set(nom.natures) & set(NATURES):
        raise ValueError(_("The classification lists no nature of act (1 to 6)."))
    if not nom.matieres:
        raise ValueError(_("The classification lists no matière."))
    bad = sorted(code for code in nom.matieres if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,4}", code))
    if bad:
        raise ValueError(_("The matière code « %(code)s » is not a code of the classification (numbers separated "
                           "by dots, five levels at most).", code=bad[0]))
    unnamed = sorted(code for code, label in nom.matieres.items() if not label.rsplit(" / ", 1)[-1].strip())
    if unnamed:
        raise ValueError(_("The matière %(code)s has no label.", code=unnamed[0]))
    newest = db.session.scalar(select(Classification.version_date).where(Classification.prefecture == prefecture)
                               .order_by(Classification.version_date.desc()).limit(1))
    if newest is not None and nom.version_date < newest:
        raise ValueError(_("This classification (version of %(date)s) is older than the copy kept (version of "
                           "%(kept)s).", date=nom.version_date.strftime("%d/%m/%Y"),
                           kept=newest.strftime("%d/%m/%Y")))
    row = db.session.scalar(select(Classification).where(Classification.prefecture == prefecture,
                                                         Classification.version_date == nom.version_date))
    if row is None:
        row = Classification(prefecture=prefecture, version_date=nom.version_date, xml=xml)
        db.session.add(row)
    else:
        row.xml, row.fetched_at = xml, utcnow()
    note_prefecture_version(prefecture, nom.version_date)
    db.session.flush()
    return row


# Deposit ----------------------------------------------------------------------------------------------------------

def check(coll: Collectivity, d: Deposit, *, exclude_act: int | None = None) -> Report:
    """The pre-flight report. When our copy of the classification is older than the préfecture's, it is fetched
    again from the TdT first (once); the act is refused only if it is still out of date."""
    prefecture = prefecture_of(coll)
    stmt = select(Act.number).where(Act.collectivity_id == coll.id)
    if exclude_act is not None:
        stmt = stmt.where(Act.id != exclude_act)
    taken = set(db.session.scalars(stmt))
    for attempt in (1, 2):
        nom, ours, theirs = nomenclature(prefecture)
        report = preflight(d, matieres=nom.matieres, stored_version=ours, prefecture_version=theirs,
                           taken_numbers=taken, today=local_today())
        if attempt == 2 or "classification_outdated" not in report.rules():
            return report
        try:
            refresh_classification(prefecture)
        except (tdt.TdtError, classif.ClassificationError) as exc:
            log.warning("actes: classification of %s could not be fetched again: %s", prefecture, exc)
            return report
    return report


def set_status(act: Act, status: str, note: str = "") -> None:
    act.status = status
    act.status_reason = note if status == "error" else ""
    act.history.append(ActStatusChange(commune_insee=act.commune_insee, status=status, note=note, at=utcnow()))


def add_file(act: Act, role: str, filename: str, data: bytes, piece_type: str = "", mimetype: str = "",
              position: int = 0, warnings: list | None = None) -> ActFile:
    stored = storage.save_for(db.session, act.id, data)
    f = ActFile(commune_insee=act.commune_insee, role=role, position=position, filename=filename[:255],
                piece_type=piece_type, mimetype=mimetype or _mimetype(data), storage_key=stored.key,
                sha256=stored.sha256, size=stored.size, warnings=warnings or [])
    act.files.append(f)
    return f


def _mimetype(data: bytes) -> str:
    head = data[:16].lstrip()
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return "application/xml"


def create_draft(coll: Collectivity, user, d: Deposit, extra: ActFields) -> tuple[Act | None, Report]:
    """A new act as « brouillon » when every pre-flight rule passes; otherwise nothing is written."""
    report = check(coll, d)
    if not report.ok:
        return None, report
    _nom, version, _theirs = nomenclature(prefecture_of(coll))
    act = Act(collectivity_id=coll.id, commune_insee=act_commune(coll), nature=d.nature, matiere=d.matiere,
              number=d.number, decision_date=d.decision_date, subject=d.subject.strip(),
              session_date=extra.session_date, publication_kind=extra.publication_kind,
              paper_annexes=extra.paper_annexes, classification_date=version,
              created_by_id=getattr(user, "id", None))
    db.session.add(act)
    db.session.flush()
    add_file(act, "act", d.act.filename, d.act.data, d.act.piece_type,
              warnings=[p.rule for p in report.warnings if p.field == "act"])
    for i, up in enumerate(d.annexes, start=1):
        add_file(act, "annex", up.filename, up.data, up.piece_type, position=i)
    set_status(act, "draft")
    audit.record("actes.act_created", target=act, collectivity=coll, user=user, number=act.number)
    return act, report


def deposit_of(act: Act) -> Deposit:
    """The act as the pre-flight checks see it (files read back from disk, checksums verified)."""
    main = act.file("act")
    return Deposit(nature=act.nature, matiere=act.matiere, number=act.number, decision_date=act.decision_date,
                   subject=act.subject,
                   act=Upload(main.filename, read_file(main), main.piece_type) if main else None,
                   annexes=[Upload(f.filename, read_file(f), f.piece_type) for f in act.annexes])


def read_file(f: ActFile) -> bytes:
    return storage.read(f.storage_key, f.sha256, f.size)


def form_of(act: Act) -> message.ActForm:
    coll = act.collectivity
    return message.ActForm(
        department=department3(coll), siren=coll.siren or "", decision_date=act.decision_date, number=act.number,
        nature=act.nature, nature_code=act.nature_code, matiere=act.matiere, subject=act.subject,
        classification_date=act.classification_date or local_today(coll),
        annex_extensions=[_extension(f) for f in act.annexes], paper=act.paper_annexes)


def _extension(f: ActFile) -> str:
    return {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(f.mimetype, "xml")

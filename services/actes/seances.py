"""Séances of the council, the délibérations voted in them, the liste des délibérations (L2121-25), the procès-verbal
(L2121-15) and the registre des délibérations (R2121-9). Writes shared by the pages and the tests (no
``flask.request`` here).

- A séance is what the mairie declares: date, hour, place, members in office, present, represented (with the
  holder of their proxy), absent, secretary of séance.
- A délibération (an act of nature 1 of the same collectivity) is attached to one séance with its vote: for,
  against, abstentions, adopted or rejected. The vote feeds the VOTE_* columns of the SCDL export.
- The liste des délibérations (date, objet of each, adopted or rejected) is generated as PDF and published on the
  commune's public page; the law gives one week after the séance. Once published it is kept as published
  (unalterable): délibérations can no longer be added to that séance.
- The procès-verbal is uploaded as PDF and published once adopted at a later séance.
- The registre (:func:`registre_pdf`) is laid out as R2121-9 asks: numbered sheets bearing the collectivity's name
  and the date of the séance, a closing sheet per séance (numbers of the délibérations, members present with room
  for their signature), and indexes by date and by matière.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from portal.identity import to_local, today as local_today
from portal import audit
from portal.extensions import db
from portal.filestore import FileStore, StorageError
from portal.models import Collectivity, utcnow
from portal.tenancy import kept
from portal.uploads import UploadRejected, check_upload

from . import operations
from .models import Act, Seance, SeanceItem

log = logging.getLogger(__name__)

# The séances' PDFs live beside the acts' files, in a folder of their own per séance.
_store = FileStore("ACTES_STORAGE_DIR", "actes/files", "actes")
MAX_PV = 50 * 1024 * 1024
LIST_DELAY = dt.timedelta(days=7)
MAX_NAMES = 200


class SeanceRefused(ValueError):
    """A séance's write refused, with the French message shown to the user."""


# Séances ------------------------------------------------------------------------------------------------------------

def names(text: str) -> list[str]:
    """One member a line (blank lines and surrounding spaces dropped)."""
    return [n.strip() for n in (text or "").splitlines() if n.strip()][:MAX_NAMES]


_PROXY = re.compile(r"\s*(?:→|->|:|\bpar\b|\bà\b|\bpouvoir à\b)\s*", re.IGNORECASE)


def proxies(text: str) -> list[list[str]]:
    """« Member represented → holder of the proxy » a line (« par », « à », « : » or an arrow between them)."""
    out = []
    for line in names(text):
        parts = [p.strip() for p in _PROXY.split(line, maxsplit=1)]
        out.append([parts[0], parts[1] if len(parts) > 1 else ""])
    return out


@dataclass
class SeanceFields:
    held_on: dt.date | None
    held_at: str
    place: str
    members_in_office: int | None
    present: list[str]
    represented: list[list[str]]
    absent: list[str]
    secretary: str


def _check_fields(f: SeanceFields) -> None:
    if f.held_on is None:
        raise SeanceRefused(_("Give the date of the séance."))
    if f.held_on > local_today() + dt.timedelta(days=366):
        raise SeanceRefused(_("The date of the séance is more than a year ahead."))
    if f.held_at and not re.fullmatch(r"([01][0-9]|2[0-3])[:h][0-5][0-9]", f.held_at):
        raise SeanceRefused(_("The hour of the séance is written like 20:30."))
    if f.members_in_office is None or not 1 <= f.members_in_office <= 999:
        raise SeanceRefused(_("Give the number of members in office (between 1 and 999)."))
    declared = len(f.present) + len(f.represented) + len(f.absent)
    if declared > f.members_in_office:
        raise SeanceRefused(_("%(n)s members are declared present, represented or absent, more than the "
                              "%(m)s members in office.", n=declared, m=f.members_in_office))
    everyone = f.present + [name for name, _holder in f.represented] + f.absent
    twice = sorted({n for n in everyone if everyone.count(n) > 1})
    if twice:
        raise SeanceRefused(_("%(name)s is declared twice (present, represented or absent).", name=twice[0]))
    missing = [name for name, holder in f.represented if not holder]
    if missing:
        raise SeanceRefused(_("Say who holds the proxy of %(name)s (one line: « member → holder »).",
                              name=missing[0]))
    present = set(f.present)
    strangers = [holder for _name, holder in f.represented if holder not in present]
    if strangers:
        raise SeanceRefused(_("%(name)s holds a proxy but is not among the members present.", name=strangers[0]))
    if f.secretary and f.present and f.secretary not in present:
        raise SeanceRefused(_("The secretary of séance must be one of the members present."))


def save_seance(coll: Collectivity, user, f: SeanceFields, seance: Seance | None = None) -> Seance:
    _check_fields(f)
    created = seance is None
    if created:
        seance = Seance(collectivity_id=coll.id, commune_insee=operations.act_commune(coll),
                        created_by_id=getattr(user, "id", None))
        db.session.add(seance)
    seance.held_on, seance.held_at, seance.place = f.held_on, f.held_at.replace("h", ":"), f.place.strip()[:200]
    seance.members_in_office = f.members_in_office
    seance.present, seance.represented, seance.absent = f.present, f.represented, f.absent
    seance.secretary = f.secretary.strip()[:200]
    for item in seance.items:  # the votes recorded must still fit the members present or represented
        check_vote(seance, Vote(item.votes_for, item.votes_against, item.abstentions, item.adopted))
    for item in seance.items:
        if item.act.decision_date != f.held_on:
            raise SeanceRefused(_("The délibérations of this séance are dated %(d)s: the séance keeps that date.",
                                  d=item.act.decision_date.strftime("%d/%m/%Y")))
    db.session.flush()
    audit.record("actes.seance_created" if created else "actes.seance_updated", target=seance, collectivity=coll,
                 user=user, held_on=f.held_on.isoformat())
    return seance


def delete_seance(seance: Seance, user) -> None:
    """A séance recorded by mistake: only while it has no délibération, no published list and no procès-verbal."""
    if seance.items or seance.list_published_at or seance.pv_key:
        raise SeanceRefused(_("Only a séance without délibération, list or procès-verbal can be deleted."))
    if db.session.scalar(select(Seance.id).where(Seance.pv_adopted_seance_id == seance.id).limit(1)):
        raise SeanceRefused(_("This séance adopted a procès-verbal: it cannot be deleted."))
    audit.record("actes.seance_deleted", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat())
    db.session.delete(seance)
    db.session.flush()


def seance_json(s: Seance) -> dict:
    """A séance as the JSON API gives it."""
    return {"id": s.id, "held_on": s.held_on.isoformat(), "held_at": s.held_at, "place": s.place,
            "agenda": s.agenda or [], "convened_on": s.convened_on.isoformat() if s.convened_on else None,
            "second_convocation_of": s.second_convocation_of_id, "quorum_reached": s.quorum_reached,
            "members_in_office": s.members_in_office, "present": s.present, "absent": s.absent,
            "represented": [{"member": m, "proxy_holder": h} for m, h in s.represented], "secretary": s.secretary,
            "list_due_on": s.list_due_on.isoformat(),
            "list_published_at": s.list_published_at.isoformat() if s.list_published_at else None,
            "pv_published_at": s.pv_published_at.isoformat() if s.pv_published_at else None,
            "deliberations": [{"act_id": i.act_id, "number": i.act.number, "subject": i.act.subject,
                               "votes_for": i.votes_for, "votes_against": i.votes_against,
                               "abstentions": i.abstentions, "adopted": i.adopted} for i in s.items]}


def seances_of(coll: Collectivity):
    return select(Seance).where(Seance.collectivity_id == coll.id).order_by(Seance.held_on.desc(), Seance.id.desc())


# Délibérations and votes --------------------------------------------------------------------------------------------

@dataclass
class Vote:
    votes_for: int | None
    votes_against: int | None
    abstentions: int | None
    adopted: bool


def _count(value) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise SeanceRefused(_("Votes are whole numbers (for, against, abstentions)."))
    return int(text)


def vote_from(values) -> Vote:
    """A vote from form fields ``votes_for``, ``votes_against``, ``abstentions``, ``result`` (adopted/rejected)."""
    result = str(values.get("result") or "adopted")
    if result not in ("adopted", "rejected"):
        raise SeanceRefused(_("Say whether the délibération was adopted or rejected."))
    return Vote(_count(values.get("votes_for")), _count(values.get("votes_against")),
                _count(values.get("abstentions")), result == "adopted")


def check_vote(seance: Seance, v: Vote) -> None:
    total = sum(x or 0 for x in (v.votes_for, v.votes_against, v.abstentions))
    if seance.voters and total > seance.voters:
        raise SeanceRefused(_("%(n)s votes counted, more than the %(m)s members present or represented.",
                              n=total, m=seance.voters))
    if v.votes_for is not None and v.votes_against is not None:
        if v.adopted and v.votes_for < v.votes_against:
            raise SeanceRefused(_("A délibération with fewer votes for than against is rejected."))
        if not v.adopted and v.votes_for > v.votes_against:
            raise SeanceRefused(_("A délibération with more votes for than against is adopted."))


def attach(seance: Seance, act: Act, v: Vote, user) -> SeanceItem:
    """Put a délibération in a séance with its vote (or change its vote). Its séance date follows the séance."""
    if act.collectivity_id != seance.collectivity_id:  # both were reached through the owner's lookups
        raise SeanceRefused(_("This act is not one of the collectivity's."))
    if act.nature != 1:
        raise SeanceRefused(_("Only délibérations (nature 1) are voted in a séance."))
    if act.decision_date != seance.held_on:
        raise SeanceRefused(_("The délibération is dated %(d)s; the séance was held on %(s)s.",
                              d=act.decision_date.strftime("%d/%m/%Y"), s=seance.held_on.strftime("%d/%m/%Y")))
    if seance.quorum_reached is False:
        raise SeanceRefused(_("The quorum of this séance was not reached: the council could not deliberate. Convene "
                              "it again (second convocation, at least three days later)."))
    check_vote(seance, v)
    item = item_of(act)
    if item is not None and item.seance_id != seance.id:
        raise SeanceRefused(_("This délibération is already in the séance of %(d)s.",
                              d=item.seance.held_on.strftime("%d/%m/%Y")))
    if item is None:
        if seance.list_published_at is not None:
            raise SeanceRefused(_("The liste des délibérations of this séance is published: no délibération can "
                                  "be added to it."))
        item = SeanceItem(commune_insee=seance.commune_insee, act_id=act.id, act=act,
                          position=max((i.position for i in seance.items), default=0) + 1)
        seance.items.append(item)
    elif seance.list_published_at is not None:
        raise SeanceRefused(_("The liste des délibérations of this séance is published: its votes can no longer "
                              "change."))
    item.votes_for, item.votes_against, item.abstentions, item.adopted = (v.votes_for, v.votes_against,
                                                                          v.abstentions, v.adopted)
    act.session_date = seance.held_on
    db.session.flush()
    audit.record("actes.deliberation_voted", target=act, collectivity=act.collectivity, user=user,
                 number=act.number, held_on=seance.held_on.isoformat(), votes_for=v.votes_for,
                 votes_against=v.votes_against, abstentions=v.abstentions,
                 result="adopted" if v.adopted else "rejected")
    return item


def detach(seance: Seance, item: SeanceItem, user) -> None:
    if seance.list_published_at is not None:
        raise SeanceRefused(_("The liste des délibérations of this séance is published: no délibération can be "
                              "taken out of it."))
    act = item.act
    seance.items.remove(item)
    db.session.flush()
    audit.record("actes.deliberation_removed", target=act, collectivity=act.collectivity, user=user,
                 number=act.number, held_on=seance.held_on.isoformat())


def item_of(act: Act) -> SeanceItem | None:
    return db.session.scalar(select(SeanceItem).where(SeanceItem.act_id == act.id))


def items_by_act(act_ids) -> dict[int, SeanceItem]:
    ids = list(act_ids)
    if not ids:
        return {}
    return {i.act_id: i for i in db.session.scalars(select(SeanceItem).where(SeanceItem.act_id.in_(ids)))}


def candidates(seance: Seance) -> list[Act]:
    """Délibérations of the collectivity dated the day of the séance and not yet in a séance."""
    taken = select(SeanceItem.act_id)
    return list(db.session.scalars(select(Act).where(
        Act.collectivity_id == seance.collectivity_id, Act.nature == 1, Act.decision_date == seance.held_on,
        Act.status != "cancelled", Act.id.not_in(taken)).order_by(Act.number)))


# Liste des délibérations --------------------------------------------------------------------------------------------

def _pdf(template: str, **context) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_template(template, **context)).write_pdf()


def list_pdf(seance: Seance) -> bytes:
    """The liste des délibérations of the séance (date, objet of each, adopted or rejected, the votes)."""
    return _pdf("actes/pdf/liste_deliberations.html", seance=seance, coll=seance.collectivity,
                generated_on=local_today(seance.collectivity))


def list_is_late(seance: Seance, today: dt.date | None = None) -> bool:
    today = today or local_today(seance.collectivity)
    if seance.list_published_at is not None:
        # list_published_at is a UTC moment: the day it was published is the département's (a list put online at
        # 00:30 in Paris on the day after the due date is late, although that is still the due date in UTC)
        return to_local(seance.list_published_at, seance.collectivity).date() > seance.list_due_on
    return today > seance.list_due_on


def publish_list(seance: Seance, user) -> None:
    if seance.list_published_at is not None:
        raise SeanceRefused(_("The liste des délibérations of this séance is already published."))
    if not seance.items:
        raise SeanceRefused(_("Add the délibérations of the séance before publishing its list."))
    if seance.held_on > local_today(seance.collectivity):
        raise SeanceRefused(_("The séance has not been held yet."))
    data = list_pdf(seance)
    stored = _store.save_for(db.session, f"seance-{seance.id}", data)
    seance.list_key, seance.list_sha256, seance.list_size = stored.key, stored.sha256, stored.size
    seance.list_published_at = utcnow()
    late = list_is_late(seance)
    if late:
        log.info("actes: liste des délibérations of séance %s published after its deadline %s", seance.id,
                 seance.list_due_on)
    audit.record("actes.list_published", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat(), late=late)


def published_list(seance: Seance) -> bytes:
    return _store.read(seance.list_key, seance.list_sha256, seance.list_size)


# Procès-verbal ------------------------------------------------------------------------------------------------------

def upload_pv(seance: Seance, user, data: bytes, filename: str) -> None:
    if seance.pv_published_at is not None:
        raise SeanceRefused(_("The procès-verbal is adopted and published: it can no longer be replaced."))
    try:
        check_upload(data, filename, allowed={"pdf"}, max_bytes=MAX_PV)
    except UploadRejected as exc:
        log.info("actes: procès-verbal of séance %s refused: %s", seance.id, exc.reason_en)
        raise SeanceRefused(_("Procès-verbal: %(reason)s", reason=exc.message_fr)) from exc
    stored = _store.save_for(db.session, f"seance-{seance.id}", data)
    seance.pv_key, seance.pv_sha256, seance.pv_size = stored.key, stored.sha256, stored.size
    seance.pv_filename, seance.pv_uploaded_at = filename[:255], utcnow()
    audit.record("actes.pv_uploaded", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat(), filename=filename[:255])


def later_seances(seance: Seance) -> list[Seance]:
    return list(db.session.scalars(select(Seance).where(
        Seance.collectivity_id == seance.collectivity_id, Seance.held_on > seance.held_on,
        Seance.held_on <= local_today(seance.collectivity)).order_by(Seance.held_on)))


def adopt_pv(seance: Seance, adopting: Seance, user) -> None:
    """The procès-verbal was adopted at ``adopting`` (a later séance): it is published at once."""
    if seance.pv_key is None:
        raise SeanceRefused(_("Add the procès-verbal (PDF) before recording its adoption."))
    if seance.pv_published_at is not None:
        raise SeanceRefused(_("The procès-verbal is already adopted and published."))
    if adopting.collectivity_id != seance.collectivity_id or adopting.held_on <= seance.held_on \
            or adopting.held_on > local_today(seance.collectivity):
        raise SeanceRefused(_("The procès-verbal is adopted at a later séance already held."))
    seance.pv_adopted_seance, seance.pv_published_at = adopting, utcnow()
    audit.record("actes.pv_published", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat(), adopted_on=adopting.held_on.isoformat())


def pv_data(seance: Seance) -> bytes:
    return _store.read(seance.pv_key, seance.pv_sha256, seance.pv_size)


def published_seances_of(coll: Collectivity):
    """Séances whose list or procès-verbal is on the public page, newest first."""
    return (select(Seance).where(Seance.collectivity_id == coll.id,
                                 (Seance.list_published_at.is_not(None)) | (Seance.pv_published_at.is_not(None)))
            .order_by(Seance.held_on.desc()))


# Registre des délibérations (R2121-9) -------------------------------------------------------------------------------

def registre_pdf(coll: Collectivity, year: int) -> bytes:
    """The registre of a year: per séance, its délibérations in order then its closing sheet; then the indexes."""
    seances = list(db.session.scalars(select(Seance).where(
        Seance.collectivity_id == coll.id, Seance.held_on >= dt.date(year, 1, 1),
        Seance.held_on <= dt.date(year, 12, 31)).order_by(Seance.held_on, Seance.id)))
    nom, _ours, _theirs = operations.nomenclature(operations.prefecture_of(coll))
    by_date, by_matiere = [], {}
    for s in seances:
        for item in s.items:
            by_date.append((s, item))
            code = ".".join(item.act.matiere.split(".")[:2])
            by_matiere.setdefault(code, []).append((s, item))
    matieres = [(code, nom.matieres.get(code, ""), by_matiere[code]) for code in sorted(
        by_matiere, key=lambda c: [int(p) if p.isdigit() else p for p in c.split(".")])]
    pages = {}  # act id → the pages of the délibération as signed (pypdf), laid on sheets of the registre
    for _s, item in by_date:
        pages[item.act.id] = _pages_of(item.act)
    from weasyprint import HTML

    html = render_template("actes/pdf/registre.html", coll=coll, year=year, seances=seances, by_date=by_date,
                           matieres=matieres, matiere_labels=nom.matieres, page_counts={
                               k: len(v) for k, v in pages.items()}, generated_on=local_today(coll))
    document = HTML(string=html).render()
    slots = {}  # (act id, page index) → sheet index: the empty sheets the template left for the act's pages
    for n, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("slot-"):
                _slot, act_id, k = anchor.split("-")
                slots[(int(act_id), int(k))] = n
    return _lay_pages(document.write_pdf(), slots, pages)


# Area of a sheet given to a page of the act, in points from the bottom left of an A4 sheet: inside the margins of
# pdf/_base.html (16 mm sides, 18 mm bottom) and under the sheet's caption.
SLOT = (45.0, 51.0, 550.0, 745.0)


def _pages_of(act: Act) -> list:
    """The pages of the délibération as signed; none when its file cannot be read (the entry stays, without them)."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    f = act.sent_file
    if f is None:
        return []
    try:
        return list(PdfReader(io.BytesIO(operations.read_file(f))).pages)
    except (PyPdfError, StorageError, OSError, ValueError) as exc:  # a file missing or damaged on disk
        log.warning("actes: pages of act %s not laid in the registre: %s", act.id, exc)
        return []


def _lay_pages(registre: bytes, slots: dict, pages: dict) -> bytes:
    """Each page of each délibération scaled into its sheet of the registre (which bears the collectivity's name,
    the séance's date and the sheet's number)."""
    import io

    from pypdf import PdfReader, PdfWriter, Transformation

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(registre)))
    x0, y0, x1, y1 = SLOT
    for (act_id, k), n in slots.items():
        src = pages.get(act_id, [])
        if k >= len(src):
            continue
        page = src[k]
        box = page.mediabox
        width, height = float(box.width), float(box.height)
        scale = min((x1 - x0) / width, (y1 - y0) / height, 1.0)
        dx = x0 + ((x1 - x0) - width * scale) / 2 - float(box.left) * scale
        dy = y1 - height * scale - float(box.bottom) * scale
        writer.pages[n].merge_transformed_page(page, Transformation().scale(scale).translate(dx, dy))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# Deadlines (the home page's panel) ----------------------------------------------------------------------------------

class ListToPublish(NamedTuple):
    """A séance whose liste des délibérations waits for its publication: what the home page's panel shows."""

    id: int
    held_on: dt.date

    list_due_on = property(Seance.list_due_on.fget)  # the séance's own rule (L2121-25)


@functools.cache
def _lists_statement():
    """Séances of ``collectivity_id`` held by ``today``, with délibérations, their list not published (built once: see
    ``portal.tenancy.kept``)."""
    return kept(select(Seance.id, Seance.held_on).where(
        Seance.collectivity_id == bindparam("collectivity_id"), Seance.list_published_at.is_(None),
        Seance.held_on <= bindparam("today"), Seance.items.any()).order_by(Seance.held_on))


def lists_to_publish(coll: Collectivity) -> list[ListToPublish]:
    """Séances held, with délibérations, whose list is not published yet (the latest deadline first when late), as
    the columns the home page shows."""
    rows = db.session.execute(_lists_statement(), {"collectivity_id": coll.id, "today": local_today(coll)})
    return [ListToPublish(*row) for row in rows]


# Convocation (L2121-10 to L2121-12) and quorum (L2121-17) ----------------------------------------------------------
#
# CGCT L2121-11: in communes under 3 500 inhabitants the convocation is sent three clear days (« jours francs ») at
# least before the day of the séance; L2121-12: five clear days in communes of 3 500 inhabitants and more (and, by
# L5211-1, in the EPCI, CE 22 July 2015 n° 383072). Clear days: neither the day of sending nor the day of the séance
# counts. L2121-17: the council deliberates validly only when the majority of its members in office is present; when,
# after a first regular convocation, the quorum is not reached, it is convened again « à trois jours au moins
# d'intervalle » and then deliberates without quorum (three clear days between the new convocation and the séance:
# CE 16 June 1997, Pfister, n° 142691). The urgency procedure (one clear day, L2121-11/12) is not offered.

SMALL_COMMUNE = 3500
MAX_AGENDA = 100


def convocation_rule(coll: Collectivity) -> tuple[int, str]:
    """(clear days, article) of the convocation of ``coll``'s council. A commune whose population is unknown is
    given the longer delay (never a convocation too late)."""
    if coll.kind == "commune" and coll.population is not None and coll.population < SMALL_COMMUNE:
        return 3, "L2121-11"
    return 5, "L2121-12"


def clear_days(sent: dt.date, held: dt.date) -> int:
    """Whole days between the day the convocation is sent and the day of the séance, neither counted."""
    return (held - sent).days - 1


def earliest_seance(sent: dt.date, days: int) -> dt.date:
    return sent + dt.timedelta(days=days + 1)


def quorum_needed(seance: Seance) -> int:
    """Members present needed: the majority of the members in office (more than half)."""
    return seance.members_in_office // 2 + 1


def convene(seance: Seance, user, agenda: list[str], sent_on: dt.date, *, second_of: Seance | None = None,
            today: dt.date | None = None) -> None:
    """Record the convocation of a séance (its order of the day, the day it is sent) and keep its PDF. Refused
    (:class:`SeanceRefused`, French, nothing written) when the delay of the law is not kept."""
    today = today or local_today(seance.collectivity)
    agenda = [a.strip()[:300] for a in agenda if a and a.strip()][:MAX_AGENDA]
    if seance.convened_on is not None:
        raise SeanceRefused(_("The convocation of this séance was already sent on %(d)s.",
                              d=seance.convened_on.strftime("%d/%m/%Y")))
    if not agenda:
        raise SeanceRefused(_("Write the order of the day (one subject a line) before sending the convocation."))
    if sent_on > today:
        raise SeanceRefused(_("The convocation cannot be dated after today."))
    if sent_on >= seance.held_on:
        raise SeanceRefused(_("The convocation must be sent before the day of the séance."))
    if second_of is not None:
        if second_of.collectivity_id != seance.collectivity_id or second_of.id == seance.id:
            raise SeanceRefused(_("The first séance must be an earlier séance of the same council."))
        if second_of.quorum_reached is not False:
            raise SeanceRefused(_("A second convocation follows a séance whose quorum was not reached (record it on "
                                  "the first séance's page)."))
        if (seance.held_on - second_of.held_on).days < 3:
            raise SeanceRefused(_("After a séance without quorum, the council is convened again at least three days "
                                  "later (article L2121-17 of the CGCT): not before %(d)s.",
                                  d=(second_of.held_on + dt.timedelta(days=3)).strftime("%d/%m/%Y")))
        days, article = 3, "L2121-17"
    else:
        days, article = convocation_rule(seance.collectivity)
    if clear_days(sent_on, seance.held_on) < days:
        raise SeanceRefused(_("The convocation must be sent at least %(n)s clear days before the séance (article "
                              "%(article)s of the CGCT): sent on %(sent)s, the séance can be held on %(earliest)s at "
                              "the earliest, not on %(held)s.", n=days, article=article,
                              sent=sent_on.strftime("%d/%m/%Y"),
                              earliest=earliest_seance(sent_on, days).strftime("%d/%m/%Y"),
                              held=seance.held_on.strftime("%d/%m/%Y")))
    seance.agenda, seance.convened_on = agenda, sent_on
    seance.second_convocation_of_id = second_of.id if second_of is not None else None
    data = convocation_pdf(seance, second_of=second_of, days=days, article=article)
    stored = _store.save_for(db.session, f"seance-{seance.id}", data)
    seance.convocation_key, seance.convocation_sha256, seance.convocation_size = stored.key, stored.sha256, stored.size
    db.session.flush()
    audit.record("actes.seance_convened", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat(), sent_on=sent_on.isoformat(), subjects=len(agenda),
                 second_convocation=second_of is not None)


def without_quorum_before(seance: Seance) -> list[Seance]:
    """Earlier séances of the council whose quorum was not reached (a second convocation follows one of them)."""
    return list(db.session.scalars(select(Seance).where(
        Seance.collectivity_id == seance.collectivity_id, Seance.held_on < seance.held_on,
        Seance.quorum_reached.is_(False)).order_by(Seance.held_on.desc())))


def convocation_pdf(seance: Seance, *, second_of: Seance | None = None, days: int | None = None,
                    article: str = "") -> bytes:
    if days is None:
        days, article = (3, "L2121-17") if seance.second_convocation_of_id else convocation_rule(seance.collectivity)
        second_of = seance.second_convocation_of
    return _pdf("actes/pdf/convocation.html", seance=seance, coll=seance.collectivity, second_of=second_of,
                days=days, article=article, generated_on=local_today(seance.collectivity))


def convocation_data(seance: Seance) -> bytes:
    return _store.read(seance.convocation_key, seance.convocation_sha256, seance.convocation_size)


@dataclass
class Quorum:
    reached: bool
    present: int
    needed: int
    message: str


def check_quorum(seance: Seance, user) -> Quorum:
    """The quorum of the séance from the members declared present (represented members do not count,
    L2121-17); recorded on the séance. A séance on second convocation deliberates without quorum."""
    present = len(seance.present or [])
    needed = quorum_needed(seance)
    if seance.second_convocation_of_id is not None:
        result = Quorum(True, present, 0, _("Séance on a second convocation: the council deliberates without "
                                            "quorum (article L2121-17 of the CGCT)."))
    elif present >= needed:
        result = Quorum(True, present, needed, _("Quorum reached: %(present)s members present out of %(office)s "
                                                 "in office (%(needed)s needed).", present=present,
                                                 office=seance.members_in_office, needed=needed))
    else:
        result = Quorum(False, present, needed, _(
            "Quorum not reached: %(present)s members present out of %(office)s in office, %(needed)s needed (the "
            "majority of the members in office, article L2121-17 of the CGCT; proxies do not count). The council "
            "cannot deliberate: convene it again, at least three days later; it will then deliberate without "
            "quorum.", present=present, office=seance.members_in_office, needed=needed))
    if not result.reached and seance.items:
        raise SeanceRefused(_("Délibérations are already recorded in this séance: take them out before recording "
                              "that the quorum was not reached."))
    seance.quorum_reached = result.reached
    audit.record("actes.quorum_checked", target=seance, collectivity=seance.collectivity, user=user,
                 held_on=seance.held_on.isoformat(), present=present, needed=needed, reached=result.reached)
    return result

"""Reads shared by the pages, the API, the registers and the bench: the plan as GeoJSON with each emplacement's
state, the search by name, the deadlines. Every query goes through the portal's territory filter."""
from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import heapq
import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, case, cast, column, func, select, table, text
from sqlalchemy.orm import joinedload

from portal.identity import today as local_today
from portal.extensions import db
from portal.tenancy import current_territory, kept

from . import rules
from .models import BODY_TENTHS, Alley, Cemetery, Concession, Deceased, Operation, Person, Plot, PlanVersion, Reprise, \
    RepriseStep, Zone, bump_plan_versions, fold, plot_label
from .schemas import PLOT_KIND_LABELS, STATE_COLOURS


def _tenths_expr():
    return func.sum(case(*[(Deceased.body == k, v) for k, v in BODY_TENTHS.items()], else_=0))


def used_by_plot(plot_ids=None) -> dict[int, int]:
    stmt = select(Deceased.plot_id, _tenths_expr()).where(Deceased.plot_id.is_not(None)).group_by(Deceased.plot_id)
    if plot_ids is not None:
        stmt = stmt.where(Deceased.plot_id.in_(plot_ids))
    return {pid: int(n or 0) for pid, n in db.session.execute(stmt)}


def concessions_by_plot(plot_ids=None) -> dict[int, tuple]:
    stmt = select(Concession.plot_id, Concession.ends_on, Concession.id).where(Concession.status == "active")
    if plot_ids is not None:
        stmt = stmt.where(Concession.plot_id.in_(plot_ids))
    return {pid: (ends, cid) for pid, ends, cid in db.session.execute(stmt)}


def state_of(plot: Plot, today: dt.date | None = None) -> str:
    today = today or local_today()
    used = used_by_plot([plot.id]).get(plot.id, 0)
    conc = concessions_by_plot([plot.id]).get(plot.id)
    return rules.plot_state(in_reprise=plot.in_reprise, used_tenths=used, has_concession=conc is not None,
                            concession_ends_on=conc[0] if conc else None, today=today)


def plan_json(cemetery_id: int | None = None, today: dt.date | None = None) -> str:
    """One GeoJSON FeatureCollection, as text: the cemeteries, zones and allées (outlines) and every emplacement
    drawn, with its state, colour and places. The stored geometries are copied as the database holds them (JSON
    text), never parsed and serialised again: the plan of 10 000 emplacements is mostly their polygons."""
    today = today or local_today()
    parts = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for layer, oid, name, geometry in _outlines(cemetery_id, "geometry"):
        parts.append(f'{{"type":"Feature","geometry":{geometry},"properties":'
                     f'{dumps({"layer": layer, "id": oid, "name": name})}}}')
    stmt = select(Plot.id, Plot.number, Plot.kind, Plot.capacity_tenths, Plot.in_reprise, cast(Plot.geometry, Text),
                  Alley.name).join(Alley).where(Plot.geometry.is_not(None))
    if cemetery_id is not None:
        stmt = stmt.join(Zone).where(Zone.cemetery_id == cemetery_id)
    used, concs = used_by_plot(), concessions_by_plot()
    kinds = {k: str(v) for k, v in PLOT_KIND_LABELS.items()}  # translated once, not per emplacement
    for pid, number, kind, cap, in_reprise, geometry, alley in db.session.execute(stmt):
        conc = concs.get(pid)
        state = rules.plot_state(in_reprise=in_reprise, used_tenths=used.get(pid, 0), has_concession=conc is not None,
                                 concession_ends_on=conc[0] if conc else None, today=today)
        props = {"layer": "plot", "id": pid, "n": f"{alley} · {number}", "k": kinds.get(kind, kind), "s": state,
                 "c": STATE_COLOURS[state], "p": f"{rules.places(used.get(pid, 0))}/{rules.places(cap)}"}
        parts.append(f'{{"type":"Feature","geometry":{geometry},"properties":{dumps(props)}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def plan(cemetery_id: int | None = None, today: dt.date | None = None) -> dict:
    """:func:`plan_json` as a dict (tests, the API's callers in Python)."""
    return json.loads(plan_json(cemetery_id, today))


def bounds(cemetery_id: int | None = None):
    """[[south, west], [north, east]] of what is drawn, or None."""
    parts = []
    for model in (Cemetery, Zone, Alley, Plot):
        stmt = select(func.min(model.min_lat), func.min(model.min_lon), func.max(model.max_lat),
                      func.max(model.max_lon))
        if cemetery_id is not None and model is Cemetery:
            stmt = stmt.where(Cemetery.id == cemetery_id)
        row = db.session.execute(stmt).one()
        if row[0] is not None:
            parts.append(row)
    if not parts:
        return None
    return [[min(p[0] for p in parts), min(p[1] for p in parts)], [max(p[2] for p in parts), max(p[3] for p in parts)]]


@dataclass
class Hit:
    plot_id: int
    label: str  # zone · allée · number
    cemetery: str
    who: str
    role: str  # deceased / holder / beneficiary
    dates: str = ""


@dataclass
class Found:
    """A page of :func:`search`: its hits, the number of matches, the page and the number of pages; ``more``: there
    are more than ``total`` matches (only the first :data:`MAX_PAGES` pages are counted and shown)."""
    hits: list[Hit]
    total: int
    page: int
    pages: int
    more: bool = False


PAGE_SIZE = 25
MAX_PAGES = 40  # past 1 000 names, the search is to be narrowed, not leafed through
_FTS = {"deceased": table("cemetery_deceased_fts", column("rowid"), column("search_name")),
        "person": table("cemetery_person_fts", column("rowid"), column("search_name"))}


def name_pattern(q: str) -> str | None:
    """The ``LIKE`` pattern of a typed name (folded: accents and capitals ignored), or None under two letters."""
    q = fold(q)[:80].replace("\\", "").replace("%", "").replace("_", " ").strip()
    return f"%{q}%" if len(q) >= 2 else None


def named(model, pattern: str):
    """The criterion « ``model.search_name`` LIKE ``pattern`` » (``model``: Deceased or Person) answered by the trigram
    index of the backend (migration ``cemetery_0004_name_search``): the ids matching in the index — on PostgreSQL
    those of the transaction's territory (``cemetery_named``) —; the rows themselves are read through the ORM, so
    the territory filter and the row-level security apply to them as to any other read."""
    kind = "deceased" if model is Deceased else "person"
    if db.session.get_bind().dialect.name == "postgresql":
        ids = select(func.cemetery_named(kind, pattern).table_valued("ref_id").c.ref_id)
        return model.id.in_(ids)
    words = pattern.strip("%")
    if len(words) < 3:  # no trigram to look up: the plain scan of the folded names
        return model.search_name.like(pattern)
    # FTS5's trigram phrase: the names holding these letters in a row, exactly what LIKE '%…%' finds (both sides
    # folded), from the index alone (the trigram LIKE reads every candidate's name back from the content table).
    fts = _FTS[kind]
    phrase = '"' + words.replace('"', '""') + '"'
    return model.id.in_(select(fts.c.rowid).where(text(f"{fts.name} MATCH :phrase").bindparams(phrase=phrase)))


def _place_columns():
    return (Plot.id, Zone.name, Alley.name, Plot.number, Cemetery.name)


def _matching(model, pattern):
    """SELECT of the ids of the deceased resting in an emplacement, or of the holders and ayants droit of a concession
    in force, whose names match (no other join: an emplacement always has its allée, zone and cemetery)."""
    if model is Deceased:
        return select(Deceased.id).where(Deceased.plot_id.is_not(None), named(Deceased, pattern))
    return (select(Person.id).join(Concession, Person.concession_id == Concession.id)
            .where(Concession.status == "active", named(Person, pattern)))


def _first_matching(model, pattern: str, limit: int) -> list[int]:
    """The ids of the first ``limit`` matches of :func:`_matching`, in the order of the folded names then ids.

    On PostgreSQL, ``cemetery_first_named`` (migration ``cemetery_0005_ordered_search``) answers it from the
    index table alone, for the transaction's territory: it keeps the listed names only (a deceased resting in an
    emplacement, a person of a concession in force, kept by triggers), so that it can stop at the ``limit``-th
    match of its ordered b-tree (a pattern matching thousands of names) or sort the few matches of its trigram
    index (a rare one) — never returning thousands of ids to be read again and sorted. Only the rows shown are read
    through the ORM (the territory filter and the row-level security)."""
    if db.session.get_bind().dialect.name == "postgresql":
        kind = "deceased" if model is Deceased else "person"
        return list(db.session.scalars(text(
            "SELECT f.ref_id FROM cemetery_first_named(:kind, :pattern, :limit) WITH ORDINALITY AS f (ref_id, n) "
            "ORDER BY f.n"), {"kind": kind, "pattern": pattern, "limit": limit}))
    return db.session.scalars(_matching(model, pattern).order_by(model.search_name, model.id).limit(limit)).all()


def search(q: str, page: int = 1, *, holders: bool = True, per_page: int = PAGE_SIZE) -> Found:
    """Emplacements by a name — a deceased's (or their birth name), or a holder's or ayant droit's of a concession in
    force when ``holders`` — anywhere in the names, accents and capitals ignored (``search_name``), in the order of
    the folded names; page ``page`` of ``per_page`` hits and the number of matches (up to :data:`MAX_PAGES` pages).
    Only the page's rows are joined to their emplacement; columns only (no geometry loaded)."""
    pattern = name_pattern(q)
    if pattern is None:
        return Found([], 0, 1, 1)
    models = (Deceased, Person) if holders else (Deceased,)
    most = MAX_PAGES * per_page  # counted up to this (and one more): a name of three common letters is not counted
    # One look-up of the index per list: its ids in name order, up to one more than can be leafed through — their
    # number is the count, the first ones hold the page (the count and the page were two look-ups each).
    ids = [_first_matching(m, pattern, most + 1) for m in models]
    total = sum(len(found) for found in ids)
    pages = max(1, min(MAX_PAGES, -(-total // per_page)))
    page = min(max(page, 1), pages)
    upto = page * per_page  # each list's first ``upto`` rows hold the page (merged below, each list's order kept)
    lists = []
    for rank, model in enumerate(models):
        first = ids[rank][:upto]
        if not first:
            lists.append([])
            continue
        if model is Deceased:
            stmt = (select(Deceased.search_name, Deceased.id, Deceased.last_name, Deceased.first_names,
                           Deceased.birth_name, Deceased.birth_date, Deceased.death_date, *_place_columns())
                    .join(Plot, Deceased.plot_id == Plot.id))
        else:
            stmt = (select(Person.search_name, Person.id, Person.last_name, Person.first_names, Person.role,
                           *_place_columns())
                    .join(Concession, Person.concession_id == Concession.id)
                    .join(Plot, Concession.plot_id == Plot.id))
        stmt = (stmt.join(Alley, Plot.alley_id == Alley.id).join(Zone, Alley.zone_id == Zone.id)
                .join(Cemetery, Zone.cemetery_id == Cemetery.id)
                .where(model.id.in_(first)).order_by(model.search_name, model.id))
        hits = []
        for key, oid, last, first_names, *rest in db.session.execute(stmt):
            name = f"{last.upper()} {first_names}".strip()
            if model is Deceased:
                birth_name, born, died, pid, zone, alley, number, cemetery = rest
                if birth_name and birth_name != last:
                    name += f" née {birth_name.upper()}"
                years = "–".join(str(x.year) for x in (born, died) if x)
                hit = Hit(pid, plot_label(zone, alley, number), cemetery, name, "deceased", years)
            else:
                role, pid, zone, alley, number, cemetery = rest
                hit = Hit(pid, plot_label(zone, alley, number), cemetery, name, role)
            hits.append(((key, rank, oid), hit))
        lists.append(hits)
    merged = itertools.islice(heapq.merge(*lists, key=lambda row: row[0]), upto - per_page, upto)
    return Found([hit for _key, hit in merged], min(total, most), page, pages, more=total > most)


@dataclass
class Deadline:
    concession: Concession
    ends_on: dt.date
    months: int  # 3 or 6: the list it belongs to; 0: expired, still renewable; -1: may be taken back


def deadlines(today: dt.date | None = None) -> list[Deadline]:
    """Concessions expiring within 6 months (3 flagged), expired ones still renewable (L2223-15), expired beyond the
    two years without a reprise under way."""
    today = today or local_today()
    six, three = rules.add_months(today, 6), rules.add_months(today, 3)
    stmt = (select(Concession).options(joinedload(Concession.plot).joinedload(Plot.alley).joinedload(Alley.zone),
                                       joinedload(Concession.people))
            .where(Concession.status == "active", Concession.ends_on.is_not(None), Concession.ends_on <= six)
            .order_by(Concession.ends_on))
    out = []
    for c in db.session.scalars(stmt).unique():
        months = _deadline_list(c.ends_on, today, three)
        if months is None:
            if c.plot.in_reprise:
                continue
            months = -1
        out.append(Deadline(c, c.ends_on, months))
    return out


def _deadline_list(ends_on: dt.date, today: dt.date, three: dt.date) -> int | None:
    """The deadline list of a concession ending on ``ends_on`` (3, 6, 0: see :class:`Deadline`), None when expired
    beyond the renewal delay (may be taken back, unless a reprise is under way)."""
    if ends_on >= today:
        return 3 if ends_on <= three else 6
    if rules.add_years(ends_on, rules.RENEWAL_AFTER_EXPIRY_YEARS) >= today:
        return 0
    return None


@dataclass(frozen=True)
class PanelDeadline:
    """A concession of the home page's panel: expiring within 6 months or expired and still renewable."""

    concession_id: int
    number: str
    ends_on: dt.date
    months: int  # 3, 6 or 0 as in Deadline
    plot_label: str


@functools.cache
def _panel_deadlines_statement():
    """Active concessions ending by ``until``, with their plot's place (built once: see ``portal.tenancy.kept``)."""
    return kept(select(Concession.id, Concession.number, Concession.ends_on, Zone.name, Alley.name, Plot.number)
                .join(Plot, Concession.plot_id == Plot.id).join(Alley, Plot.alley_id == Alley.id)
                .join(Zone, Alley.zone_id == Zone.id)
                .where(Concession.status == "active", Concession.ends_on.is_not(None),
                       Concession.ends_on <= bindparam("until"))
                .order_by(Concession.ends_on))


def panel_deadlines(today: dt.date) -> list[PanelDeadline]:
    """The concessions of :func:`deadlines` with a list of 3, 6 or 0 months, in the same order, as the columns the
    home page's panel shows (no concession, people or emplacement objects to build)."""
    six, three = rules.add_months(today, 6), rules.add_months(today, 3)
    rows = db.session.execute(_panel_deadlines_statement(), {"until": six})
    out = []
    for cid, number, ends_on, zone, alley, plot_number in rows:
        months = _deadline_list(ends_on, today, three)
        if months is not None:
            out.append(PanelDeadline(cid, number, ends_on, months, plot_label(zone, alley, plot_number)))
    return out


def steps_due(today: dt.date | None = None, within_days: int = 30) -> list[RepriseStep]:
    """The next step of every reprise under way whose date has come or comes within ``within_days``."""
    today = today or local_today()
    out = []
    reprises = db.session.scalars(select(Reprise).options(joinedload(Reprise.steps), joinedload(Reprise.plot))
                                  .where(Reprise.status == "open").order_by(Reprise.id)).unique()
    for r in reprises:
        nxt = next((s for s in r.steps if not s.done_on), None)
        if _is_due(nxt, today, within_days):
            out.append(nxt)
    return out


def _is_due(step, today: dt.date, within_days: int) -> bool:
    return step is not None and step.due_on is not None and step.due_on <= today + dt.timedelta(days=within_days)


@dataclass(frozen=True)
class PanelStep:
    """The next step of a reprise under way, due soon, as the home page's panel shows it."""

    reprise_id: int
    due_on: dt.date
    plot_label: str


@functools.cache
def _panel_steps_statement():
    """The steps of the reprises under way, in order, with their plot's place (built once: see
    ``portal.tenancy.kept``)."""
    return kept(select(RepriseStep.reprise_id, RepriseStep.due_on, RepriseStep.done_on, Zone.name, Alley.name,
                       Plot.number)
                .select_from(Reprise).join(RepriseStep, RepriseStep.reprise_id == Reprise.id)
                .join(Plot, Reprise.plot_id == Plot.id).join(Alley, Plot.alley_id == Alley.id)
                .join(Zone, Alley.zone_id == Zone.id)
                .where(Reprise.status == "open").order_by(Reprise.id, RepriseStep.position))


def panel_steps_due(today: dt.date, within_days: int = 30) -> list[PanelStep]:
    """:func:`steps_due` as the columns the home page's panel shows, in the same order."""
    rows = db.session.execute(_panel_steps_statement())
    out, seen = [], set()
    for step in rows:  # each reprise's steps in order: the first not done is its next one
        if step.reprise_id in seen or step.done_on:
            continue
        seen.add(step.reprise_id)
        if _is_due(step, today, within_days):
            out.append(PanelStep(step.reprise_id, step.due_on, plot_label(step[3], step[4], step[5])))
    return out


@dataclass
class MpfGrave:
    plot_id: int
    label: str
    cemetery: str
    name: str
    buried_on: dt.date | None
    protected_until: dt.date | None  # None: the burial date is unknown, the grave stays protected
    mention_on: dt.date | None
    source: str


def mpf_graves(today: dt.date | None = None) -> list[MpfGrave]:
    """« Sépultures de morts pour la France »: each deceased with the mention resting in an emplacement, with the date
    until which the grave cannot be taken back for abandonment (R2223-22 CGCT: fifty years after the burial)."""
    today = today or local_today()
    burial = (select(Operation.deceased_id, func.min(Operation.on).label("on"))
              .where(Operation.kind.in_(("inhumation", "urn_deposit"))).group_by(Operation.deceased_id).subquery())
    stmt = (select(Deceased, *_place_columns(), burial.c.on)
            .join(Plot, Deceased.plot_id == Plot.id).join(Alley, Plot.alley_id == Alley.id)
            .join(Zone, Alley.zone_id == Zone.id).join(Cemetery, Zone.cemetery_id == Cemetery.id)
            .outerjoin(burial, burial.c.deceased_id == Deceased.id)
            .where(Deceased.mpf.is_(True)).order_by(Cemetery.name, Zone.name, Alley.name, Plot.number))
    out = []
    for d, pid, zone, alley, number, cemetery, buried in db.session.execute(stmt):
        day = buried or d.death_date
        out.append(MpfGrave(pid, plot_label(zone, alley, number), cemetery, d.full_name, day,
                            rules.add_years(day, rules.MPF_PROTECTION_YEARS) if day else None, d.mpf_on,
                            d.mpf_source))
    return out


def mpf_plot_ids() -> set[int]:
    return set(db.session.scalars(select(Deceased.plot_id).where(Deceased.mpf.is_(True),
                                                                  Deceased.plot_id.is_not(None)).distinct()))


# The compact plan ----------------------------------------------------------------------------------------------------
# What the plan page draws (cemetery.js), far smaller than the GeoJSON: each shape is one array of integers — the
# first point quantised (``q`` units per degree, 1e7: 1 cm; per pixel on a scanned plan, 10), then the differences
# from the point before, the ring's closing point left out. Emplacements carry only their id, state and type (indexes
# into ``states`` and ``kinds``); their label and places are fetched when clicked (``cemetery.plot_bubble``).

GEO_Q, IMAGE_Q = 10_000_000, 10


def _pack(geometry, q: int) -> list[int]:
    ring = geometry["coordinates"][0]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    out, px, py = [], 0, 0
    for x, y in ring:
        ix, iy = round(x * q), round(y * q)
        out.append(ix - px)
        out.append(iy - py)
        px, py = ix, iy
    return out


@functools.lru_cache(maxsize=200_000)
def _packed_text(geometry_text: str, q: int) -> str:
    """The packed ring of a stored geometry, as JSON numbers joined by commas. Cached by the geometry's own text, so
    never stale: a shape drawn again is a new key; the plan of an unchanged cemetery is packed once per process."""
    return ",".join(map(str, _pack(json.loads(geometry_text), q)))


def _outlines(cemetery_id: int | None, column: str):
    """(layer, id, name, shape as stored text) of the cemeteries, zones and allées (of one cemetery or all) whose
    ``column`` (``geometry`` on the map, ``image_geometry`` on the scanned plan) is set: the outlines both plans draw."""
    for model, layer in ((Cemetery, "cemetery"), (Zone, "zone"), (Alley, "alley")):
        geom = getattr(model, column)
        stmt = select(model.id, model.name, cast(geom, Text)).where(geom.is_not(None))
        if cemetery_id is not None:
            if model is Cemetery:
                stmt = stmt.where(Cemetery.id == cemetery_id)
            elif model is Zone:
                stmt = stmt.where(Zone.cemetery_id == cemetery_id)
            else:
                stmt = stmt.join(Zone).where(Zone.cemetery_id == cemetery_id)
        for oid, name, shape in db.session.execute(stmt):
            yield layer, oid, name, shape


def plan_compact_json(cemetery_id: int | None = None, *, image: bool = False, today: dt.date | None = None) -> str:
    """The plan (every cemetery, or one; the geographic shapes, or those placed on the scanned plan of
    ``cemetery_id`` when ``image``) in the compact form above, as JSON text (built as text: the shapes' packed
    numbers come from :func:`_packed_text`, the states are computed on each call)."""
    today = today or local_today()
    column = "image_geometry" if image else "geometry"
    q = IMAGE_Q if image else GEO_Q
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    outlines = []
    for layer, oid, name, shape in _outlines(cemetery_id, column):
        outlines.append(f'["{layer}",{oid},{dumps(name)},[{_packed_text(shape, q)}]]')
    geom = getattr(Plot, column)
    stmt = select(Plot.id, Plot.kind, Plot.in_reprise, cast(geom, Text)).where(geom.is_not(None))
    if cemetery_id is not None:
        stmt = stmt.join(Alley).join(Zone).where(Zone.cemetery_id == cemetery_id)
    used, concs = used_by_plot(), concessions_by_plot()
    states = {st: i for i, st in enumerate(rules.STATES)}
    kinds = {k: i for i, k in enumerate(PLOT_KIND_LABELS)}
    plots = []
    for pid, kind, in_reprise, shape in db.session.execute(stmt):
        conc = concs.get(pid)
        state = rules.plot_state(in_reprise=in_reprise, used_tenths=used.get(pid, 0), has_concession=conc is not None,
                                 concession_ends_on=conc[0] if conc else None, today=today)
        plots.append(f"[{pid},{states[state]},{kinds.get(kind, 0)},{_packed_text(shape, q)}]")
    head = dumps({"q": q, "states": list(rules.STATES), "colours": [STATE_COLOURS[st] for st in rules.STATES],
                  "kinds": [str(v) for v in PLOT_KIND_LABELS.values()]})
    return f'{head[:-1]},"outlines":[{",".join(outlines)}],"plots":[{",".join(plots)}]}}'


@dataclass(frozen=True)
class CompactPlan:
    """The compact plan's response, ready to send: its bytes, their digest (the ``ETag``) and their gzip."""

    data: bytes
    etag: str
    gzipped: bytes


_kept: OrderedDict[tuple, CompactPlan] = OrderedDict()
_kept_lock = threading.Lock()
KEPT_PLANS = 32  # responses kept per process (a plan of 10 000 emplacements: about 0.6 MB and its gzip)


def _plan_tokens(codes: tuple[str, ...]) -> tuple[str, ...]:
    """The plan token of each commune of the territory (one indexed select on a row per commune); a commune without
    one yet gets its first token here (committed at once: the bodies kept are keyed by it)."""
    found = dict(db.session.execute(select(PlanVersion.commune_insee, PlanVersion.token)).all())
    missing = [c for c in codes if c not in found]
    if missing:
        bump_plan_versions(db.session.connection(), missing)
        db.session.commit()
        found = dict(db.session.execute(select(PlanVersion.commune_insee, PlanVersion.token)).all())
    return tuple(found.get(c, "") for c in codes)


def compact_plan(cemetery_id: int | None = None, *, image: bool = False) -> CompactPlan:
    """:func:`plan_compact_json` as the response sends it, built once and kept while nothing it shows changes: the key
    is the territory (so no body ever crosses communes), the cemetery, the layer, the local date (the states expiring
    and expired move with it), the language (the types' labels) and the token of each commune of the territory,
    which every write to a row the plan draws replaces in its own transaction (``models.PlanVersion``)."""
    from flask_babel import get_locale

    territory = current_territory()
    today = local_today()
    if not territory:  # system context (None: everything) or nothing visible: not kept
        return _compact(plan_compact_json(cemetery_id, image=image, today=today))
    codes = tuple(sorted(territory))
    key = (codes, cemetery_id, image, today, str(get_locale()), _plan_tokens(codes))
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            return kept
    kept = _compact(plan_compact_json(cemetery_id, image=image, today=today))
    with _kept_lock:
        _kept[key] = kept
        while len(_kept) > KEPT_PLANS:
            _kept.popitem(last=False)
    return kept


def _compact(body: str) -> CompactPlan:
    data = body.encode()
    return CompactPlan(data, hashlib.sha256(data).hexdigest()[:32], gzip.compress(data, compresslevel=5))


def plan_compact(cemetery_id: int | None = None, *, image: bool = False, today: dt.date | None = None) -> dict:
    """:func:`plan_compact_json` as a dict (tests)."""
    return json.loads(plan_compact_json(cemetery_id, image=image, today=today))

"""The one choke point for audiences (DESIGN.md §6), beside ``portal/tenancy.py`` which does the same for places.

Content without a territory (news, documents, forum threads…) is addressed to an :class:`Audience`: every
collectivity, the communes only, the EPCI only, the members of one EPCI, the subscribers of one service, a hand-picked
list of collectivities, or the public (residents without an account too). Rows of such content mix in
:class:`AudienceScoped` (``audience_id`` and ``publisher_id``, the organisation that published it).

During a request every ORM SELECT, UPDATE and DELETE is narrowed, through SQLAlchemy's ``do_orm_execute`` event and
``with_loader_criteria``, to the rows whose audience holds the active collectivity — or that this collectivity
published. Who sees what (the audience matrix of ``tests/services/desk/test_audiences.py``):

- a commune: ``all``, ``communes``, ``public``, ``epci_members`` of an EPCI it belongs to, ``service`` of a service it
  subscribes, ``list`` naming it;
- an EPCI: ``all``, ``epci``, ``public``, ``epci_members`` of itself, ``service`` and ``list`` as above;
- a partner: ``all`` and ``public`` (the desk's common room: news to everyone, the forum), and what it published;
- a department team (or an intercommunal operator's staff): what the collectivities it administers published — itself,
  its communes and EPCI, its partners (``portal.tenancy.administered_ids``, the same criterion as its admin pages) —
  whatever the audience: it runs and moderates its own part of the desk, never another département's;
- nobody signed in (public pages): ``public`` only.

Several départements on one instance: ``all``, ``communes``, ``epci`` and ``service`` (:data:`DEPARTMENT_WIDE`) mean
« … of the publisher's département ». The audience row records that département (``Audience.department_code``, the
publisher's, filled at flush; NULL = the whole platform, which only code in the system context writes) and a viewer
knows its own (``Viewer.departments``: a commune's or a partner's, an EPCI's and its member communes' — an EPCI
straddling two départements hears both). ``public`` (anyone, residents too), ``epci_members`` (one named EPCI) and
``list`` (named collectivities) are not narrowed: whoever is named is named.

Outside a request (CLI, workers) nothing is filtered unless code enters :func:`audience_scope` — the e-mail digest
does, once per person. Views never filter by audience themselves.

On PostgreSQL the same rule is a second lock, as ``app.territory`` is for places: before the first statement about
audience-scoped rows (or the audience table) of a transaction — and again whenever the viewer changes, as in
:func:`audience_scope` — the session writes the viewer into five transaction-local settings (:func:`setting_values`):
``app.viewer`` (``*`` = everything: the department, system context; a collectivity id; empty = nobody signed in),
``app.viewer_kinds`` (the audience kinds open to it), ``app.viewer_epcis``, ``app.viewer_services`` and
``app.viewer_departments``. The policies of migration ``desk_0015_department_audiences`` (``desk_0012_audience_rls``
before the départements) read them (the rule of ``app_can_read_audience(audience_id, publisher_id)``,
written out in each policy); a connection that never set them reads public rows only. :class:`DepartmentScoped`
rows (the forum's categories) have their own policy (``desk_0016_forum_category_rls``): the platform's, and those of
``app.viewer_departments`` — everything only for ``app.viewer`` = ``*`` with no département (the system context).
"""
from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache

from flask import g, has_request_context
from sqlalchemy import ForeignKey, Select, String, and_, bindparam, event, false, func, or_, select
from sqlalchemy.orm import (Mapped, Mapper, Session, aliased, declared_attr, mapped_column, relationship,
                            with_loader_criteria)
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql import util as sql_util

from .extensions import db
from .tenancy import with_options

# Audience kinds, as stored; their French labels are in services/desk (the one place that shows them).
ALL = "all"
COMMUNES = "communes"
EPCI = "epci"
EPCI_MEMBERS = "epci_members"
SERVICE = "service"
LIST = "list"
PUBLIC = "public"
KINDS = (ALL, COMMUNES, EPCI, EPCI_MEMBERS, SERVICE, LIST, PUBLIC)
# Kinds that mean « … of the publisher's département » (Audience.department_code; NULL: the whole platform).
DEPARTMENT_WIDE = (ALL, COMMUNES, EPCI, SERVICE)

audience_member = db.Table(
    "audience_member",
    db.Column("audience_id", ForeignKey("audience.id", ondelete="CASCADE"), primary_key=True),
    db.Column("collectivity_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Audience(db.Model):
    """To whom a publication is addressed. One row per publication (never shared with another publication, so that
    editing the audience of one never changes another's; its search entry points at the same row)."""

    __tablename__ = "audience"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    epci_id: Mapped[int | None] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    service_slug: Mapped[str | None] = mapped_column(String(40))
    # The organisation whose publication this is (filled at flush from the row that points at it): on PostgreSQL the
    # publisher reads its own audiences even when they do not hold it (a list of other communes).
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    # The publisher's département (filled at flush with publisher_id): the kinds of DEPARTMENT_WIDE reach the
    # collectivities of this département only; NULL = the whole platform.
    department_code: Mapped[str | None] = mapped_column(String(3), index=True)

    epci = relationship("Collectivity", foreign_keys=[epci_id])
    members = relationship("Collectivity", secondary=audience_member, order_by="Collectivity.name")


class AudienceScoped:
    """Mixin for content addressed to an audience and published by an organisation (a collectivity row: the
    department, a partner, a commune or an EPCI)."""

    @declared_attr
    def audience_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(ForeignKey("audience.id"), index=True)

    @declared_attr
    def publisher_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("collectivity.id"), index=True)

    @declared_attr
    def audience(cls):  # noqa: N805
        return relationship(Audience, lazy="joined")

    @declared_attr
    def publisher(cls):  # noqa: N805
        return relationship("Collectivity", foreign_keys=[cls.publisher_id], lazy="joined")


class DepartmentScoped:
    """Mixin for desk rows without an audience that belong to one département (the forum's categories):
    ``department_code``, NULL = the whole platform. During a request every ORM SELECT, UPDATE and DELETE of them is
    narrowed to the viewer's départements (``Viewer.departments``; a department team: its own) and the platform's."""

    @declared_attr
    def department_code(cls) -> Mapped[str | None]:  # noqa: N805
        return mapped_column(String(3), index=True)


class ViewerGuarded:
    """Marker for rows owned by one collectivity (``collectivity_id``) or one département (``department_code``) that
    no audience reaches — TdT accounts, signers' certificates, calendar addresses, event registrations, a
    département's cadastre imports — whose row-level security policy reads the viewer's settings (``app.viewer``,
    ``app.viewer_departments``: migrations ``actes_0015_credentials_rls``, ``desk_0017_owned_rows_rls``,
    ``cadastre_0007_dept_import_rls``) — and rows read beyond their owner whose policy reads the same settings: a
    buyer's consultations (``tenders_0008_tender_rls``: published ones are everyone's), the forum's messages
    (``desk_0018_forum_post_rls``: whoever reads the thread). The ORM criterion stays where it was (views ask for their collectivity's
    rows, ``owned_or_404``); this marker only makes the session write the viewer before any statement or flush about
    them, as for audience-scoped rows. Outside a request (CLI, workers) the viewer is everything (``*``); code that
    must read such a row before anyone is known (the calendar feed's token) does it in ``audience_scope(None)``."""


# The rows whose row-level security policies read the viewer's settings: a session writes them (_sync) before any
# statement or flush about one of them.
_READ_BY_VIEWER = (AudienceScoped, Audience, DepartmentScoped, ViewerGuarded)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as far as audiences go. ``collectivity_id`` None: nobody signed in (public pages)."""

    collectivity_id: int | None
    kind: str | None
    epci_ids: frozenset[int] = frozenset()
    services: frozenset[str] = frozenset()
    # A department or an operator: the ids of the collectivities it administers (its publishers).
    administered: frozenset[int] | None = None
    # The départements whose DEPARTMENT_WIDE publications reach it (an EPCI: its own and its member communes').
    departments: frozenset[str] = frozenset()

    @classmethod
    def of(cls, collectivity) -> Viewer | None:
        """The viewer a collectivity is; a department's (or operator's) reads what its own collectivities published."""
        from .registry import registry, subscribed_slugs
        from .tenancy import administered_ids
        from .usercontext import driver_rows

        if collectivity is None:
            return PUBLIC_VIEWER
        if collectivity.is_operator:
            ids = db.session.scalars(administered_ids((collectivity.id, collectivity.kind,
                                                       collectivity.department_code)))
            return cls(collectivity.id, collectivity.kind, administered=frozenset(ids),
                       departments=frozenset({collectivity.department_code}))
        if collectivity.kind == "epci":
            epcis = {collectivity.id}
        elif "epcis" in collectivity.__dict__:  # already loaded by the page
            epcis = {e.id for e in collectivity.epcis}
        else:  # the ids only, on the session's connection: no EPCI rows to build, and no statement of the ORM, whose
            # events would first give row-level security the "everything" viewer of this computation (one more
            # round trip before the request's own viewer is set); as driver SQL compiled once (portal.usercontext)
            epcis = {epci_id for (epci_id,) in driver_rows(_epcis_statement(), collectivity.id)}
        subscribed = subscribed_slugs(collectivity)
        services = {s.slug for s in registry.all() if s.slug in subscribed}
        return cls(collectivity.id, collectivity.kind, frozenset(epcis), frozenset(services),
                   departments=departments_of(collectivity))

    def open_kinds(self) -> tuple[str, ...]:
        """Audience kinds that hold this viewer whatever their parameters."""
        if self.kind == "commune":
            return (ALL, COMMUNES, PUBLIC)
        if self.kind == "epci":
            return (ALL, EPCI, PUBLIC)
        if self.kind == "partner":
            return (ALL, PUBLIC)
        return (PUBLIC,)


@cache
def _epcis_statement():
    """The ids of the EPCI the commune of id ``commune_id`` belongs to."""
    from .models import epci_members

    return select(epci_members.c.epci_id).where(epci_members.c.commune_id == bindparam("commune_id"))


def departments_of(collectivity) -> frozenset[str]:
    """The départements a collectivity belongs to for audiences: its own; an EPCI's member communes' too."""
    from .models import KIND_EPCI, Collectivity, epci_members

    codes = {collectivity.department_code}
    if collectivity.kind == KIND_EPCI:
        c = Collectivity.__table__.alias("dep_c")  # Core: no administration criterion applies inside it
        codes.update(db.session.scalars(select(c.c.department_code).distinct().join(
            epci_members, epci_members.c.commune_id == c.c.id).where(epci_members.c.epci_id == collectivity.id)))
    return frozenset(code for code in codes if code)


PUBLIC_VIEWER = Viewer(None, None)
_override: contextvars.ContextVar = contextvars.ContextVar("audience_override", default=None)
_EVERYTHING = object()


def current_viewer() -> Viewer | None:
    """The viewer of the current context, or None when nothing is filtered (department, system context)."""
    override = _override.get()
    if override is not None:
        return None if override is _EVERYTHING else override
    if has_request_context():
        collectivity = g.get("collectivity")
        key = id(collectivity)  # not collectivity.id: after a commit, reading it would query (and come back here)
        cached = g.get("audience_viewer")
        if cached is None or cached[0] != key:  # the context sets the collectivity after the first queries
            token = _override.set(_EVERYTHING)  # reading memberships of EPCI while computing it is not filtered
            try:
                cached = (key, Viewer.of(collectivity))
            finally:
                _override.reset(token)
            g.audience_viewer = cached
        return cached[1]
    return None


@contextmanager
def audience_scope(viewer: Viewer | None):
    """Run a block (task, CLI) as ``viewer`` would see; ``None`` lifts the filter explicitly."""
    token = _override.set(_EVERYTHING if viewer is None else viewer)
    try:
        yield
    finally:
        _override.reset(token)


@lru_cache(maxsize=512)
def setting_values(viewer: Viewer | None) -> tuple[str, str, str, str, str]:
    """``app.viewer``, ``app.viewer_kinds``, ``app.viewer_epcis``, ``app.viewer_services``,
    ``app.viewer_departments`` for ``viewer`` (None: everything)."""
    if viewer is None:
        return ("*", "", "", "", "")
    if viewer.administered is not None:
        # A department team (or an operator's staff) reads every audience of what its own collectivities published:
        # the policies let it read every audience, and the query filter narrows to its publishers (administered).
        # Its départements still bound the forum's categories (desk_0016_forum_category_rls): only « * » with no
        # département is everything.
        return ("*", "", "", "", ",".join(sorted(viewer.departments)))
    return ("" if viewer.collectivity_id is None else str(viewer.collectivity_id), ",".join(viewer.open_kinds()),
            ",".join(str(i) for i in sorted(viewer.epci_ids)), ",".join(sorted(viewer.services)),
            ",".join(sorted(viewer.departments)))


_SET_VIEWER = ("SELECT set_config('app.viewer', %s, true), set_config('app.viewer_kinds', %s, true), "
               "set_config('app.viewer_epcis', %s, true), set_config('app.viewer_services', %s, true), "
               "set_config('app.viewer_departments', %s, true)")
_SYNCED = "audience_setting"  # session.info key: the values the session's transaction was given


def set_viewer(connection, viewer: Viewer | None) -> None:
    """Give the transaction of ``connection`` (a SQLAlchemy Connection on PostgreSQL) the settings of ``viewer``."""
    connection.connection.driver_connection.execute(_SET_VIEWER, setting_values(viewer))


def _sync(session) -> None:
    """Row-level security sees the viewer the ORM filter sees (PostgreSQL; a no-op elsewhere). Only when it changed
    since the transaction began: one round trip per transaction and per :func:`audience_scope` that is used."""
    if session.get_bind().dialect.name != "postgresql":
        return
    values = setting_values(current_viewer())
    if session.info.get(_SYNCED) == values:
        return
    connection = session.connection()
    connection.connection.driver_connection.execute(_SET_VIEWER, values)
    session.info[_SYNCED] = values


def visible_audiences(viewer: Viewer):
    """SELECT of the ids of the audiences that hold ``viewer`` (same shape for every viewer, values bound)."""
    return select(Audience.id).where(holds_clause(viewer))


def holds_clause(viewer: Viewer, audience=Audience):
    """The condition on an ``audience`` row (or an alias of the table) that it holds ``viewer``: of its
    département (or not département-wide), and addressed to it."""
    cid = viewer.collectivity_id if viewer.collectivity_id is not None else -1
    return and_(or_(
        audience.kind.not_in(DEPARTMENT_WIDE),
        audience.department_code.is_(None),
        audience.department_code.in_(sorted(viewer.departments)),
    ), or_(
        audience.kind.in_(viewer.open_kinds()),
        and_(audience.kind == EPCI_MEMBERS, audience.epci_id.in_(sorted(viewer.epci_ids))),
        and_(audience.kind == SERVICE, audience.service_slug.in_(sorted(viewer.services))),
        and_(audience.kind == LIST, audience.id.in_(
            select(audience_member.c.audience_id).where(audience_member.c.collectivity_id == cid))),
    ))


def _scoped_classes():
    """Mapped classes mixing in AudienceScoped (direct subclasses and theirs)."""
    seen, todo = [], list(AudienceScoped.__subclasses__())
    while todo:
        cls = todo.pop()
        if hasattr(cls, "__mapper__") and cls not in seen:
            seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


@lru_cache(maxsize=1)
def _scoped_by_table() -> dict[str, type]:
    """Table name → audience-scoped class (built again when a class is mapped later: see :func:`_mapped`)."""
    return {cls.__table__.name: cls for cls in _scoped_classes()}


MAX_SHAPES = 4096  # statement shapes remembered by :func:`_shape_facts`; beyond, the table starts again empty
_facts_by_shape: dict = {}
_facts_lock = threading.Lock()


@event.listens_for(Mapper, "instrument_class")
def _mapped(mapper, cls) -> None:
    """A class mapped after the maps above were built (a service imported late) is never left out of them."""
    _scoped_by_table.cache_clear()
    _eager_closure.cache_clear()
    _facts_by_shape.clear()


@lru_cache(maxsize=256)
def _eager_closure(classes: frozenset) -> frozenset:
    """``classes`` and the audience-scoped classes their joined eager loads (``lazy="joined"``) lead to, at any depth:
    these are read in the same statement without being named in it."""
    found, todo = set(classes), list(classes)
    while todo:
        for rel in todo.pop().__mapper__.relationships:
            target = rel.mapper.class_
            if rel.lazy == "joined" and issubclass(target, AudienceScoped) and target not in found:
                found.add(target)
                todo.append(target)
    return frozenset(found)


def touched_classes(statement, mappers) -> frozenset:
    """The audience-scoped classes a statement reads or writes: its top-level entities (``mappers``), every table
    it names — joins, aliases, sub-queries, EXISTS in its WHERE clause, the columns of a relationship's join — and
    what their joined eager loads lead to. A statement with loader options of its own (``joinedload``…) may reach
    any class: every scoped class then."""
    by_table = _scoped_by_table()
    if any(not isinstance(option, LoaderCriteriaOption) for option in getattr(statement, "_with_options", ())):
        return frozenset(by_table.values())
    found = {m.class_ for m in mappers if issubclass(m.class_, AudienceScoped)}
    for table in sql_util.find_tables(statement, check_columns=True, include_crud=True):
        cls = by_table.get(getattr(table, "name", None))
        if cls is not None:
            found.add(cls)
    return _eager_closure(frozenset(found))


def _shape_facts(state) -> tuple[tuple, frozenset | None]:
    """The mappers at the top of ``state``'s statement (``ORMExecuteState.all_mappers``) and, for a statement about
    audience-scoped rows, the classes it touches (:func:`touched_classes`), worked out once per statement shape.

    Both depend on the statement's structure only — its entities, tables, joins and options — which its cache key
    (SQLAlchemy's own, the key of its compiled SQL, never its bound values) holds whole: two statements with the
    same key are compiled to the same SQL with the same entities. ``all_mappers`` builds the statement's column
    descriptions, comparing column expressions as it goes: a fifth of an ORM execution, for every statement of every
    page. The key costs nothing more: SQLAlchemy keeps it on the statement and reads it again to find the compiled
    SQL. A DML statement's mappers (its bound mapper) and a statement without a cache key are asked every time."""
    statement = state.statement
    if not (state.is_select and isinstance(statement, Select)):
        return _facts(state)
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        return _facts(state)
    found = _facts_by_shape.get(cache_key.key)
    if found is None:
        found = _facts(state)
        with _facts_lock:
            if len(_facts_by_shape) >= MAX_SHAPES:
                _facts_by_shape.clear()
            _facts_by_shape[cache_key.key] = found
    return found


def _facts(state) -> tuple[tuple, frozenset | None]:
    mappers = tuple(state.all_mappers)
    if not any(issubclass(m.class_, AudienceScoped) for m in mappers):
        return mappers, None
    return mappers, touched_classes(state.statement, mappers)


_HOLDER = aliased(Audience, name="audience_holder")  # never auto-correlated with an audience the query joins


def criteria(viewer: Viewer, cls):
    """The condition a row of ``cls`` must meet for ``viewer``: addressed to it, or published by it.

    The audience test is a correlated scalar sub-query on the row's own audience — ``coalesce((SELECT <holds> FROM
    audience WHERE id = row.audience_id), false)``, a primary-key lookup per candidate row — with the same truth as
    ``EXISTS (SELECT … WHERE id = row.audience_id AND <holds>)``: the audience row exists (foreign key) and a NULL
    of the rule counts as false in both. Not ``audience_id IN (every audience the viewer may read)``: with one
    audience per publication that list is as long as the content, and SQLite built it for every query. Not the
    EXISTS either: PostgreSQL turns a correlated EXISTS into a hashed sub-plan over every ``audience`` row when it
    expects many candidate rows, even under a LIMIT that stops after six (the home page's news); a scalar sub-query
    cannot be hashed, so it stays a lookup per row actually read."""
    if viewer.administered is not None:  # a department team: its own collectivities' publications, any audience
        return cls.publisher_id.in_(sorted(viewer.administered))
    holder = (select(holds_clause(viewer, _HOLDER)).where(_HOLDER.id == cls.audience_id)
              .correlate_except(_HOLDER).scalar_subquery())
    clause = func.coalesce(holder, false())
    if viewer.collectivity_id is not None:
        clause = or_(clause, cls.publisher_id == viewer.collectivity_id)
    return clause


@lru_cache(maxsize=4096)
def loader_option(viewer: Viewer, cls):
    """The ``with_loader_criteria`` option narrowing ``cls`` to what ``viewer`` may read, built once and then shared
    by every statement of every request with the same viewer: a :class:`Viewer` is immutable and holds all that
    :func:`criteria` depends on, and an option keeps nothing of the statements it is added to."""
    return with_loader_criteria(cls, criteria(viewer, cls), include_aliases=True)


def install(session_factory_class=Session) -> None:
    """Attach the listener to every ORM session. Called once by the app factory.

    One plain (non-lambda) criterion per mapped class: the SQL shape is the same for every viewer and only bound
    values change, so SQLAlchemy's statement cache can never hand one viewer's filter to another. Each statement
    about audience-scoped rows gets the options of the scoped classes it touches (:func:`touched_classes`), built
    once per viewer and class (:func:`loader_option`): building all eight for every statement cost more than the
    statement itself (3.5 ms of the home page's 8.1 ms of news on SQLite).
    """
    if getattr(install, "_done", False):
        return
    install._done = True

    @event.listens_for(session_factory_class, "do_orm_execute")
    def _scope(state):
        if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
            return
        mappers, touched = _shape_facts(state)
        # Only statements about rows whose policies read the viewer's settings pay for the viewer (its EPCI are read
        # once per request): audience-scoped rows and audiences, DepartmentScoped rows (app.viewer_departments,
        # desk_0016_forum_category_rls) and ViewerGuarded rows (app.viewer). Their relationships are loaded by
        # statements of their own or joined (touched_classes follows them), so the mappers at the top of the
        # statement are the ones to look at.
        if not any(issubclass(m.class_, _READ_BY_VIEWER) for m in mappers):
            # A scoped table may still be joined under another entity (registrations joined to their events): when
            # the viewer costs nothing to know (system context, audience_scope), the setting follows at once.
            if _override.get() is not None or not has_request_context():
                _sync(state.session)
            return
        _sync(state.session)  # bulk ORM inserts too (their rows pass the policies' WITH CHECK)
        if state.is_insert:
            return
        # One listener for both narrowings; the departments' options come after the audiences', as when they were
        # two listeners in that order.
        audiences = any(issubclass(m.class_, AudienceScoped) for m in mappers)
        departments = any(issubclass(m.class_, DepartmentScoped) for m in mappers)
        if not (audiences or departments):
            return
        viewer = current_viewer()
        if viewer is None:
            return
        if audiences:
            options = tuple(loader_option(viewer, cls) for cls in touched)
            if options:
                state.statement = with_options(state.statement, options)
        if departments:
            state.statement = with_options(state.statement, department_options(viewer, _department_classes()))

    @event.listens_for(session_factory_class, "before_flush")
    def _before_flush(session, flush_context, instances):
        touched = False
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, AudienceScoped):
                touched = True
                audience = obj.__dict__.get("audience")  # never a lazy load here
                publisher = obj.__dict__.get("publisher")
                publisher_id = obj.publisher_id or (publisher.id if publisher is not None else None)
                if audience is not None and audience.publisher_id is None and publisher_id is not None:
                    audience.publisher_id = publisher_id
                    audience.department_code = _department_of(session, publisher, publisher_id)
            elif isinstance(obj, _READ_BY_VIEWER):
                touched = True
        if touched:
            _sync(session)

    @event.listens_for(session_factory_class, "after_transaction_end")
    def _forget_setting(session, transaction):
        # SET LOCAL ends with the transaction (a savepoint rolled back undoes it too): set it again next time
        session.info.pop(_SYNCED, None)


def _department_classes() -> tuple:
    return tuple(cls for cls in DepartmentScoped.__subclasses__() if hasattr(cls, "__mapper__"))


@lru_cache(maxsize=1024)
def department_options(viewer: Viewer, classes: tuple) -> tuple:
    """The ``with_loader_criteria`` options narrowing each :class:`DepartmentScoped` class of ``classes`` to
    ``viewer``'s départements, built once per viewer like :func:`loader_option`."""
    return tuple(with_loader_criteria(cls, department_criteria(viewer, cls), include_aliases=True) for cls in classes)


def department_criteria(viewer: Viewer, cls):
    """The condition a :class:`DepartmentScoped` row must meet for ``viewer``: of its départements, or the
    platform's."""
    return or_(cls.department_code.is_(None), cls.department_code.in_(sorted(viewer.departments)))


def _department_of(session, publisher, publisher_id: int) -> str | None:
    """The département of a publication's publisher, at flush (never a lazy load: the loaded row, else one Core
    SELECT, which no administration criterion narrows)."""
    from .models import Collectivity

    code = publisher.__dict__.get("department_code") if publisher is not None else None
    if code is None:
        table = Collectivity.__table__
        code = session.execute(select(table.c.department_code).where(table.c.id == publisher_id)).scalar()
    return code


def new_audience(kind: str, *, epci_id: int | None = None, service_slug: str | None = None,
                 member_ids=()) -> Audience:
    """A fresh Audience row; raises ValueError (English, for the caller to turn into a form error) when incomplete."""
    from .models import Collectivity

    if kind not in KINDS:
        raise ValueError(f"unknown audience kind {kind!r}")
    if kind == EPCI_MEMBERS and not epci_id:
        raise ValueError("an EPCI audience needs the EPCI")
    if kind == SERVICE and not service_slug:
        raise ValueError("a service audience needs the service")
    if kind == LIST and not member_ids:
        raise ValueError("a list audience needs at least one collectivity")
    audience = Audience(kind=kind, epci_id=epci_id if kind == EPCI_MEMBERS else None,
                        service_slug=service_slug if kind == SERVICE else None)
    if kind == LIST:
        audience.members = list(db.session.scalars(select(Collectivity).where(Collectivity.id.in_(list(member_ids)))))
    return audience


def holds(audience: Audience, viewer: Viewer | None) -> bool:
    """The same rule in Python, for one row already loaded (e.g. who gets an e-mail about it)."""
    if viewer is None:
        return True
    kind = audience.kind
    if kind in DEPARTMENT_WIDE and audience.department_code is not None \
            and audience.department_code not in viewer.departments:
        return False
    if kind in viewer.open_kinds():
        return True
    if kind == EPCI_MEMBERS:
        return audience.epci_id in viewer.epci_ids
    if kind == SERVICE:
        return audience.service_slug in viewer.services
    if kind == LIST:
        return any(m.id == viewer.collectivity_id for m in audience.members)
    return False


def may_read(row, viewer: Viewer | None) -> bool:
    """:func:`criteria` in Python for one ``AudienceScoped`` row already loaded with its audience: addressed to
    ``viewer`` or published by it (e.g. a mass mailing that reads its rows once for many viewers)."""
    if viewer is None:
        return True
    if viewer.administered is not None:
        return row.publisher_id in viewer.administered
    return (viewer.collectivity_id is not None and row.publisher_id == viewer.collectivity_id) \
        or holds(row.audience, viewer)

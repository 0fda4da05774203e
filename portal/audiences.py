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

Outside a request (CLI, workers) nothing is filtered unless code enters :func:`audience_scope` — the e-mail digest
does, once per person. Views never filter by audience themselves.

On PostgreSQL the same rule is a second lock, as ``app.territory`` is for places: before the first statement about
audience-scoped rows (or the audience table) of a transaction — and again whenever the viewer changes, as in
:func:`audience_scope` — the session writes the viewer into four transaction-local settings (:func:`setting_values`):
``app.viewer`` (``*`` = everything: the department, system context; a collectivity id; empty = nobody signed in),
``app.viewer_kinds`` (the audience kinds open to it), ``app.viewer_epcis`` and ``app.viewer_services``. The policies of
migration ``desk_0012_audience_rls`` read them (the rule of ``app_can_read_audience(audience_id, publisher_id)``,
written out in each policy); a connection that never set them reads public rows only.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import ForeignKey, String, and_, event, or_, select
from sqlalchemy.orm import (Mapped, Session, aliased, declared_attr, mapped_column, relationship,
                            with_loader_criteria)

from .extensions import db

# Audience kinds, as stored; their French labels are in services/desk (the one place that shows them).
ALL = "all"
COMMUNES = "communes"
EPCI = "epci"
EPCI_MEMBERS = "epci_members"
SERVICE = "service"
LIST = "list"
PUBLIC = "public"
KINDS = (ALL, COMMUNES, EPCI, EPCI_MEMBERS, SERVICE, LIST, PUBLIC)

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


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as far as audiences go. ``collectivity_id`` None: nobody signed in (public pages)."""

    collectivity_id: int | None
    kind: str | None
    epci_ids: frozenset[int] = frozenset()
    services: frozenset[str] = frozenset()
    # A department or an operator: the ids of the collectivities it administers (its publishers).
    administered: frozenset[int] | None = None

    @classmethod
    def of(cls, collectivity) -> Viewer | None:
        """The viewer a collectivity is; a department's (or operator's) reads what its own collectivities published."""
        from .registry import is_subscribed, registry
        from .models import epci_members
        from .tenancy import administered_ids

        if collectivity is None:
            return PUBLIC_VIEWER
        if collectivity.is_operator:
            ids = db.session.scalars(administered_ids((collectivity.id, collectivity.kind,
                                                       collectivity.department_code)))
            return cls(collectivity.id, collectivity.kind, administered=frozenset(ids))
        if collectivity.kind == "epci":
            epcis = {collectivity.id}
        elif "epcis" in collectivity.__dict__:  # already loaded by the page
            epcis = {e.id for e in collectivity.epcis}
        else:  # the ids only, on the session's connection: no EPCI rows to build, and no statement of the ORM, whose
            # events would first give row-level security the "everything" viewer of this computation (one more
            # round trip before the request's own viewer is set)
            epcis = set(db.session.connection().execute(
                select(epci_members.c.epci_id).where(epci_members.c.commune_id == collectivity.id)).scalars())
        services = {s.slug for s in registry.all() if is_subscribed(collectivity, s.slug)}
        return cls(collectivity.id, collectivity.kind, frozenset(epcis), frozenset(services))

    def open_kinds(self) -> tuple[str, ...]:
        """Audience kinds that hold this viewer whatever their parameters."""
        if self.kind == "commune":
            return (ALL, COMMUNES, PUBLIC)
        if self.kind == "epci":
            return (ALL, EPCI, PUBLIC)
        if self.kind == "partner":
            return (ALL, PUBLIC)
        return (PUBLIC,)


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
def setting_values(viewer: Viewer | None) -> tuple[str, str, str, str]:
    """``app.viewer``, ``app.viewer_kinds``, ``app.viewer_epcis``, ``app.viewer_services`` for ``viewer`` (None:
    everything)."""
    if viewer is None or viewer.administered is not None:
        # A department team (or an operator's staff) reads every audience of what its own collectivities published:
        # the policies let it read every audience, and the query filter narrows to its publishers (administered).
        return ("*", "", "", "")
    return ("" if viewer.collectivity_id is None else str(viewer.collectivity_id), ",".join(viewer.open_kinds()),
            ",".join(str(i) for i in sorted(viewer.epci_ids)), ",".join(sorted(viewer.services)))


_SET_VIEWER = ("SELECT set_config('app.viewer', %s, true), set_config('app.viewer_kinds', %s, true), "
               "set_config('app.viewer_epcis', %s, true), set_config('app.viewer_services', %s, true)")
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
    """The condition on an ``audience`` row (or an alias of the table) that it holds ``viewer``."""
    cid = viewer.collectivity_id if viewer.collectivity_id is not None else -1
    return (or_(
        audience.kind.in_(viewer.open_kinds()),
        and_(audience.kind == EPCI_MEMBERS, audience.epci_id.in_(sorted(viewer.epci_ids))),
        and_(audience.kind == SERVICE, audience.service_slug.in_(sorted(viewer.services))),
        and_(audience.kind == LIST, audience.id.in_(
            select(audience_member.c.audience_id).where(audience_member.c.collectivity_id == cid))),
    ))


@lru_cache(maxsize=1024)
def _criteria_options(viewer: Viewer, scoped: tuple) -> tuple:
    """The loader criteria of ``viewer`` for every scoped class, built once per viewer and process: building them
    (an EXISTS with its IN lists per class) cost more than the statement they narrow. A viewer is a frozen value
    (its collectivity, kinds, EPCI, services, administered ids): the same viewer gets the same criteria, a changed
    one (a new subscription, an EPCI joined) is another key."""
    return tuple(with_loader_criteria(cls, criteria(viewer, cls), include_aliases=True) for cls in scoped)


def _scoped_classes():
    """Mapped classes mixing in AudienceScoped (direct subclasses and theirs)."""
    seen, todo = [], list(AudienceScoped.__subclasses__())
    while todo:
        cls = todo.pop()
        if hasattr(cls, "__mapper__") and cls not in seen:
            seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


_HOLDER = aliased(Audience, name="audience_holder")  # never auto-correlated with an audience the query joins


def criteria(viewer: Viewer, cls):
    """The condition a row of ``cls`` must meet for ``viewer``: addressed to it, or published by it.

    A correlated EXISTS on the row's own audience (a primary-key lookup per candidate row), not ``audience_id IN
    (every audience the viewer may read)``: with one audience per publication that list is as long as the content,
    and SQLite builds it again for every query (a search of a few matches paid for tens of thousands of ids)."""
    if viewer.administered is not None:  # a department team: its own collectivities' publications, any audience
        return cls.publisher_id.in_(sorted(viewer.administered))
    clause = (select(_HOLDER.id).where(_HOLDER.id == cls.audience_id, holds_clause(viewer, _HOLDER))
              .correlate_except(_HOLDER).exists())
    if viewer.collectivity_id is not None:
        clause = or_(clause, cls.publisher_id == viewer.collectivity_id)
    return clause


def install(session_factory_class=Session) -> None:
    """Attach the listener to every ORM session. Called once by the app factory.

    One plain (non-lambda) criterion per mapped class: the SQL shape is the same for every viewer and only bound
    values change, so SQLAlchemy's statement cache can never hand one viewer's filter to another.
    """
    if getattr(install, "_done", False):
        return
    install._done = True

    @event.listens_for(session_factory_class, "do_orm_execute")
    def _scope(state):
        if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
            return
        scoped = _scoped_classes()
        # Only statements about audience-scoped rows pay for the viewer (its EPCI are read once per request). Their
        # relationships are loaded by statements of their own (no joined eager load leads into a scoped class), so
        # the mappers at the top of the statement are the ones to look at.
        if not any(issubclass(m.class_, (AudienceScoped, Audience)) for m in state.all_mappers):
            # A scoped table may still be joined under another entity (registrations joined to their events): when
            # the viewer costs nothing to know (system context, audience_scope), the setting follows at once.
            if _override.get() is not None or not has_request_context():
                _sync(state.session)
            return
        _sync(state.session)  # bulk ORM inserts too (their rows pass the policies' WITH CHECK)
        if state.is_insert or not any(issubclass(m.class_, AudienceScoped) for m in state.all_mappers):
            return
        viewer = current_viewer()
        if viewer is None:
            return
        options = _criteria_options(viewer, tuple(scoped))
        if options:
            state.statement = state.statement.options(*options)

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
            elif isinstance(obj, Audience):
                touched = True
        if touched:
            _sync(session)

    @event.listens_for(session_factory_class, "after_transaction_end")
    def _forget_setting(session, transaction):
        # SET LOCAL ends with the transaction (a savepoint rolled back undoes it too): set it again next time
        session.info.pop(_SYNCED, None)


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

"""The one choke point for territory scoping (DESIGN.md §2).

- Rows of service data that belong to a place mix in :class:`TerritoryScoped` (a ``commune_insee`` column).
- During a request, :func:`current_territory` is the set of INSEE codes of the active collectivity. Every ORM
  SELECT is given ``commune_insee IN (territory)`` for every scoped entity through SQLAlchemy's ``do_orm_execute``
  event and ``with_loader_criteria``; every flush refuses new or changed scoped rows outside the territory.
- On PostgreSQL, each transaction also sets ``app.territory`` (``set_config(..., true)`` = ``SET LOCAL``) which the
  row-level security policies created by :func:`rls_policy_sql` read, so raw SQL cannot leak either.
- Outside a request (CLI, workers, migrations) nothing is filtered unless code enters :func:`territory_scope`.

Views never filter by territory themselves; they query normally and this module narrows the result.

The same module scopes **administration** (DESIGN.md §8): a department team — or the staff of an intercommunal
operator — administers only its own collectivities. When the active membership is a department or operator role,
:func:`administer` records it and every ORM SELECT of ``Collectivity`` during the request is given "administered by
this operator, or the operator itself" (:func:`administered_ids`): lists, lookups by id and joins of the admin
pages and of the services' department pages all see that département's (or operator's) collectivities only.
"""
from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import String, event
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria

UNSCOPED = None  # territory value meaning "no filter" (system context)

_override: contextvars.ContextVar = contextvars.ContextVar("territory_override", default=None)
_SENTINEL_NONE = object()


class TerritoryScoped:
    """Mixin for rows that belong to a commune."""

    @declared_attr
    def commune_insee(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(String(5), index=True, nullable=False)


class TerritoryViolation(PermissionError):
    """A write of a row outside the active territory."""


def current_territory() -> frozenset[str] | None:
    """The INSEE codes the current context may see, or None when unscoped (system context)."""
    override = _override.get()
    if override is not None:
        return None if override is _SENTINEL_NONE else override
    if has_request_context():
        return g.get("territory", frozenset())
    return UNSCOPED


@contextmanager
def territory_scope(codes):
    """Run a block (CLI, task) as if in a territory; ``codes=None`` lifts the filter explicitly."""
    token = _override.set(_SENTINEL_NONE if codes is None else frozenset(codes))
    synced = _sync_session_setting()  # a transaction begun before the block: row-level security follows too
    try:
        yield
    except BaseException:
        _override.reset(token)  # the transaction fails with the block: nothing to give back to it
        raise
    _override.reset(token)
    if synced:
        _sync_session_setting()


def activate(territory: frozenset[str]) -> None:
    """Set the territory of the current request (called once the active collectivity is known)."""
    from .extensions import db

    g.territory = frozenset(territory)
    session = db.session()
    if session.in_transaction() and db.engine.dialect.name == "postgresql":
        _set_setting(session.connection(), _setting_value(current_territory()))


def _setting_value(territory) -> str:
    return "*" if territory is None else ",".join(sorted(territory))


def _sync_session_setting() -> bool:
    """Give the transaction in progress of the app's session (PostgreSQL) the territory of the current context:
    writes and reads made in a :func:`territory_scope` entered after the transaction began (a request's page
    writing for another commune, a webhook) are then seen by row-level security as the ORM sees them."""
    from flask import has_app_context

    from .extensions import db

    if not has_app_context() or not db.session.registry.has():
        return False
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active or db.engine.dialect.name != "postgresql":
        return False
    _set_setting(session.connection(), _setting_value(current_territory()))
    return True


def _set_setting(connection, value: str) -> None:
    """``app.territory`` for the rest of the transaction of ``connection`` (SQLAlchemy Connection, PostgreSQL): sent
    on the driver's connection, as it runs at the start of nearly every request (SQLAlchemy's statement machinery
    costs more than the statement here)."""
    connection.connection.driver_connection.execute(_SET_TERRITORY, (value,))


_SET_TERRITORY = "SELECT set_config('app.territory', %s, true)"


def set_transaction_territory(driver_connection, territory) -> None:
    """``app.territory`` = ``territory`` (None: every territory) for the rest of the transaction of a driver
    connection used outside the session (a pooled psycopg connection borrowed for one statement, as the cadastre's
    tiles do): the setting the session's own transactions get, formatted here only."""
    driver_connection.execute(_SET_TERRITORY, (_setting_value(territory),))


@contextmanager
def connection_territory(connection, codes):
    """``app.territory`` for every transaction of ``connection`` (an autocommit SQLAlchemy Connection, where each
    statement is its own transaction and ``SET LOCAL`` would not last) until the block ends: the INSEE codes
    ``codes``, or every territory when ``codes`` is None. Row-level security applies to such a connection like to
    any other: without this, its UPDATEs of scoped rows silently change nothing. A no-op outside PostgreSQL; the
    setting is reset before the connection goes back to the pool."""
    if connection.dialect.name != "postgresql":
        yield
        return
    value = _setting_value(None if codes is None else set(codes))
    connection.exec_driver_sql("SELECT set_config('app.territory', %s, false)", (value,))
    try:
        yield
    finally:
        connection.exec_driver_sql("RESET app.territory")


def administer(collectivity) -> None:
    """The current request is made by staff of ``collectivity`` (a department or an intercommunal operator)."""
    g.administered_by = (collectivity.id, collectivity.kind, collectivity.department_code)


def administering():
    """(id, kind, department code) of the operator whose staff make the request, or None."""
    return g.get("administered_by") if has_request_context() else None


def administered_ids(operator=None):
    """SELECT of the ids of the collectivities ``operator`` (id, kind, department code) administers — itself, the
    communes of its département (of its list, for an intercommunal operator), the EPCI with a member among them and
    the partners it added. Built on Core aliases, so the ORM's administration criteria do not apply inside it."""
    from sqlalchemy import false, literal, select, union

    from .models import KIND_COMMUNE, KIND_DEPARTMENT, KIND_EPCI, KIND_PARTNER, epci_members, operator_communes
    from .models import Collectivity

    op_id, kind, code = operator or administering()
    t = Collectivity.__table__.alias("adm_c")
    m = epci_members.alias("adm_m")
    if kind == KIND_DEPARTMENT:
        communes = select(t.c.id).where(t.c.kind == KIND_COMMUNE, t.c.department_code == code)
        home_epcis = select(t.c.id).where(t.c.kind == KIND_EPCI, t.c.department_code == code)
    else:
        communes = select(operator_communes.c.commune_id).where(operator_communes.c.operator_id == op_id)
        home_epcis = select(t.c.id).where(false())
    partners = select(t.c.id).where(t.c.kind == KIND_PARTNER, t.c.department_code == code)
    epcis = select(m.c.epci_id).where(m.c.commune_id.in_(communes))
    return union(select(literal(op_id)), communes, home_epcis, epcis, partners)


def administered_communes() -> dict[str, str]:
    """INSEE → name of the current communes the requesting staff administer (cached for the request)."""
    if "administered_communes" not in g:
        from sqlalchemy import select

        from .extensions import db
        from .models import KIND_COMMUNE, Collectivity

        rows = db.session.execute(select(Collectivity.insee, Collectivity.name).where(
            Collectivity.kind == KIND_COMMUNE, Collectivity.historical_since.is_(None))
            .order_by(Collectivity.search_name)).all() if administering() else []
        g.administered_communes = {insee: name for insee, name in rows if insee}
    return g.administered_communes


def administers_user(user) -> bool:
    """Whether the requesting staff administer a collectivity ``user`` belongs to (suspensions, reactivations)."""
    from sqlalchemy import exists, select

    from .extensions import db
    from .models import Membership

    if administering() is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        Membership.user_id == user.id, Membership.collectivity_id.in_(administered_ids())))))


def administered_audit():
    """Criterion on AuditEvent: the events of the collectivities the requesting staff administer, and those of no
    collectivity (sign-ins…) by people who belong to one of them."""
    from sqlalchemy import and_, or_, select

    from .models import AuditEvent, Membership

    ids = administered_ids()
    return or_(AuditEvent.collectivity_id.in_(ids), and_(
        AuditEvent.collectivity_id.is_(None),
        AuditEvent.user_id.in_(select(Membership.user_id).where(Membership.collectivity_id.in_(ids)))))


def _criteria(territory):
    """The criterion of :class:`TerritoryScoped` entities in ``territory``, as the lambda ``with_loader_criteria``
    needs for a mixin. A commune's territory (one code, nearly every request) is an equality: an ``IN`` is an
    expanding parameter whose SQL is rewritten at every execution. Each shape has its own lambda, hence its own code
    object in the statement's cache key: the SQL cached for one never serves the other; the codes themselves are
    bound values, tracked per execution like any lambda's."""
    codes = tuple(sorted(territory))
    if len(codes) == 1:
        code = codes[0]
        return lambda cls: cls.commune_insee == code
    return lambda cls: cls.commune_insee.in_(codes)


@lru_cache(maxsize=1024)
def territory_option(territory: frozenset[str]):
    """The ``with_loader_criteria`` option narrowing every :class:`TerritoryScoped` entity to ``territory``, built
    once per territory and then shared by every statement of every request in that territory: an option keeps
    nothing of the statements it is added to, and building one (its lambda's analysis) cost a fifth of what the
    option adds to a statement. Bounded: an evicted territory is only built again."""
    return with_loader_criteria(TerritoryScoped, _criteria(territory), include_aliases=True,
                                track_closure_variables=False)


# Statements built once per process, and their narrowed copies. An ORM statement is narrowed at every execution by
# copying it with the options of the territory (and of the audiences): SQLAlchemy then works out the copy's cache
# key — the key of its compiled SQL, a walk of the whole statement — again, since a copy keeps nothing of its
# original's. A statement built once (a home panel's, with its values bound at execution: :func:`kept`) is given the
# same copy for the same options each time, whose key SQLAlchemy keeps on it. The copy is the very statement the
# options make (``statement.options(*options)``): the same SQL and bound values, the territory's code included (it
# belongs to the option, kept with the copy).
MAX_COPIES = 1024  # narrowed copies kept per process; beyond, they are made again
_kept_roots: dict[int, object] = {}  # id → statement built once (kept: never freed, so its id stays its own)
_copies: dict[tuple, tuple] = {}  # (id of a kept statement or copy, options) → (that statement, its copy)
_known_copies: dict[int, object] = {}  # id → copy (kept with it, so its id stays its own)
_copies_lock = threading.Lock()


def kept(statement):
    """Mark ``statement`` as built once for the life of the process (a module's constant, its values bound at
    execution): its narrowed copies are made once per territory or viewer, not at every execution."""
    with _copies_lock:
        _kept_roots[id(statement)] = statement
    return statement


def with_options(statement, options: tuple):
    """``statement.options(*options)``; the same copy again for a :func:`kept` statement (and for a copy of one)."""
    key = id(statement)
    if _kept_roots.get(key) is not statement and _known_copies.get(key) is not statement:
        return statement.options(*options)
    found = _copies.get((key, options))
    if found is not None and found[0] is statement:
        return found[1]
    copy = statement.options(*options)
    with _copies_lock:
        if len(_copies) >= MAX_COPIES:
            _copies.clear()
            _known_copies.clear()
        _copies[(key, options)] = (statement, copy)
        _known_copies[id(copy)] = copy
    return copy


def install(session_factory_class=Session) -> None:
    """Attach the listeners to every ORM session. Called once by the app factory."""
    if getattr(install, "_done", False):
        return
    install._done = True

    @event.listens_for(session_factory_class, "do_orm_execute")
    def _scope_select(state):
        if not (state.is_select or state.is_update or state.is_delete):
            return
        territory = current_territory()
        if territory is None:
            return
        state.statement = with_options(state.statement, (territory_option(territory),))

    @event.listens_for(session_factory_class, "do_orm_execute")
    def _scope_administration(state):
        if not state.is_select:
            return
        operator = administering()
        if operator is None:
            return
        from .models import Collectivity

        state.statement = state.statement.options(with_loader_criteria(
            Collectivity, Collectivity.id.in_(administered_ids(operator)), include_aliases=True))

    @event.listens_for(session_factory_class, "before_flush")
    def _refuse_foreign_writes(session, flush_context, instances):
        territory = current_territory()
        if territory is None:
            return
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, TerritoryScoped) and obj.commune_insee not in territory:
                raise TerritoryViolation(
                    f"write of {type(obj).__name__} for commune {obj.commune_insee} outside territory"
                )

    @event.listens_for(session_factory_class, "after_begin")
    def _set_rls_setting(session, transaction, connection):
        if connection.dialect.name != "postgresql":
            return
        territory = current_territory()
        if territory is not None and not territory:
            # Nothing to set: an unset app.territory reads as '' in the policies, i.e. nothing visible — the same
            # as an empty territory. Saves a round trip on the request's first transaction (before the user is known).
            return
        _set_setting(connection, _setting_value(territory))


def rls_policy_sql(table: str) -> list[str]:
    """PostgreSQL statements enabling row-level security on a TerritoryScoped table.

    ``app.territory`` is ``*`` in system context (CLI, workers) and the comma-separated INSEE codes during a
    request; an unset setting (a connection that never went through the app) sees nothing. The app must connect
    with a role that is not a superuser and does not have BYPASSRLS (README, "Production").
    """
    policy = f"{table}_territory"
    expr = (
        "(coalesce(current_setting('app.territory', true), '') = '*' "
        "OR commune_insee = ANY (string_to_array(coalesce(current_setting('app.territory', true), ''), ',')))"
    )
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {policy} ON {table}",
        f"CREATE POLICY {policy} ON {table} USING {expr} WITH CHECK {expr}",
    ]


def owned_or_404(model, object_id):
    """Fetch a collectivity-owned row (``collectivity_id``) of the active collectivity, or abort with 404.

    Memberships, audit events and other rows owned by a collectivity rather than a commune go through here, so
    views never compare collectivity ids themselves.
    """
    from flask import abort

    from .extensions import db

    obj = db.session.get(model, object_id)
    collectivity = g.get("collectivity")
    if obj is None or collectivity is None or obj.collectivity_id != collectivity.id:
        abort(404)
    return obj


def owned_query(model):
    """``select(model)`` narrowed to the active collectivity (no collectivity → nothing)."""
    from sqlalchemy import false, select

    collectivity = g.get("collectivity")
    stmt = select(model)
    return stmt.where(model.collectivity_id == collectivity.id) if collectivity is not None else stmt.where(false())

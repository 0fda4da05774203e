"""The signed-in user's request context, kept per process and checked against the database on every request.

Every request of someone signed in needs the same graph: the account, its memberships, their collectivities, and
those collectivities' conventions and service activations (permissions, the active collectivity, the service gate,
the menu). Loading it through the ORM (one joined statement, ``models.request_context_loads``) costs about 2 ms of
CPU per request, most of it SQLAlchemy building objects from rows that did not change since the last request.

So each request sends one plain statement (:func:`_check_statement`) that reads the very columns the graph holds,
joined the same way, and compares them with the rows read when the graph kept for that account was loaded. Equal:
the kept graph is copied into the request's session (``Session.merge(load=False)``, no statement) — the copy holds
exactly what the database holds at this request. Different (a membership removed, a role or a granted permission
changed, a convention ended, a service switched off, the account suspended or its password changed, a collectivity
renamed…): the graph is loaded again through the ORM and kept with the new rows. Nothing is invalidated by anyone and
nothing is trusted that the database did not say at this request, whatever process or host made the change; a
revoked access takes effect at the next request as before. A graph is kept with the rows made from its own values
(:func:`rows_of`), never with rows read by another statement, so no change committed in between can be missed.

Not part of the graph (loaded when read, as before): deferred columns (a collectivity's outline), the EPCI members
(an EPCI's territory) and every other relationship.
"""
from __future__ import annotations

import functools
import threading

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from .extensions import db

MAX_ACCOUNTS = 4096  # graphs kept per process; beyond, the store starts again empty
_kept: dict[int, tuple[list[tuple], object]] = {}
_lock = threading.Lock()


def _loaded_columns(model) -> list:
    """The table columns the ORM loads for ``model`` (deferred ones excluded), in the mapper's order."""
    return [prop.columns[0] for prop in inspect(model).column_attrs if not prop.deferred]


def _models():
    from .models import Collectivity, Convention, Membership, ServiceActivation, User

    return User, Membership, Collectivity, Convention, ServiceActivation


@functools.cache
def _context_columns() -> tuple:
    return tuple(col for model in _models() for col in _loaded_columns(model))


def _joined():
    user, membership, collectivity, convention, activation = (m.__table__ for m in _models())
    return (user.outerjoin(membership, membership.c.user_id == user.c.id)
            .outerjoin(collectivity, collectivity.c.id == membership.c.collectivity_id)
            .outerjoin(convention, convention.c.collectivity_id == collectivity.c.id)
            .outerjoin(activation, activation.c.collectivity_id == collectivity.c.id)), \
        (membership.c.id, convention.c.id, activation.c.id)


@functools.cache
def _check_statement():
    """The graph's columns for one account (``uid``), one row per membership × convention × activation."""
    from .models import User

    joined, order = _joined()
    return select(*_context_columns()).select_from(joined).where(User.__table__.c.id == bindparam("uid")) \
        .order_by(*order)


TOKEN_COLUMNS = 4  # api_token.id, user_id, revoked_at, last_used_at, ahead of the graph's columns


@functools.cache
def _token_check_statement():
    """The same for the account of an API token (``token_hash``), after the token's own columns."""
    from .models import ApiToken, User

    token = ApiToken.__table__
    joined, order = _joined()
    return (select(token.c.id, token.c.user_id, token.c.revoked_at, token.c.last_used_at, *_context_columns())
            .select_from(token.join(joined, User.__table__.c.id == token.c.user_id))
            .where(token.c.token_hash == bindparam("token_hash")).order_by(*order))


@functools.cache
def _load_statement():
    from .models import User, request_context_loads

    return select(User).where(User.id == bindparam("uid")).options(*request_context_loads())


_compiled: dict = {}


def driver_rows(statement, value) -> list[tuple]:
    """The rows of ``statement`` (built once, one bound parameter: ``value``) with the values the ORM would give
    (dates, JSON…). Sent on the session's connection (its transaction) as driver SQL compiled once per process —
    SQLAlchemy's statement and result machinery cost half of this check — and past the ORM's territory criteria: for
    statements that read no territory-scoped table (this graph, the EPCI of a commune for the audiences). A SELECT, so
    the read-only commit has nothing to note. Only the types the driver does not convert itself are converted (SQLite:
    dates, JSON, booleans; PostgreSQL: nearly none)."""
    connection = db.session.connection()
    dialect = connection.dialect
    found = _compiled.get((id(statement), dialect.name))  # statements built once (functools.cache)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        (name,) = compiled.binds
        processors = [(i, p) for i, p in enumerate(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in statement.selected_columns)
            if p is not None]
        found = _compiled[(id(statement), dialect.name)] = (compiled.string, compiled.positional, name, processors)
    sql, positional, name, processors = found
    params = (value,) if positional else {name: value}
    if dialect.name == "postgresql":
        # On the driver's connection, as tenancy's territory setting: SQLAlchemy's execution context and result
        # (48 columns described again at every request) cost more than the statement. A driver error still goes
        # through SQLAlchemy's handling — a dropped connection invalidated, the pool told, the portal's 503 or retry.
        try:
            raw = connection.connection.driver_connection.execute(sql, params).fetchall()
        except Exception as exc:  # noqa: BLE001 - re-raised by SQLAlchemy, wrapped
            connection._handle_dbapi_exception(exc, sql, params, None, None)
            raise
    else:
        raw = connection.exec_driver_sql(sql, params).fetchall()
    if not processors:
        return [tuple(r) for r in raw]
    rows = []
    for r in raw:
        r = list(r)
        for i, process in processors:
            if r[i] is not None:
                r[i] = process(r[i])
        rows.append(tuple(r))
    return rows


def load(uid: int):
    """The account ``uid`` with its context in the request's session, or None when it does not exist."""
    rows = driver_rows(_check_statement(), uid)
    return from_rows(uid, rows) if rows else None


def check_token(token_hash: str) -> tuple[tuple, list[tuple]] | None:
    """(token id, user id, revoked at, last used at) and the graph's rows of its account, or None."""
    rows = driver_rows(_token_check_statement(), token_hash)
    if not rows:
        return None
    return rows[0][:TOKEN_COLUMNS], [r[TOKEN_COLUMNS:] for r in rows]


@functools.cache
def _attribute_keys() -> tuple:
    return tuple(tuple(prop.key for prop in inspect(model).column_attrs if not prop.deferred) for model in _models())


def rows_of(user) -> list[tuple]:
    """The rows :func:`_check_statement` gives for ``user``, made from the loaded graph itself (same order: memberships,
    conventions, activations by id; a row of NULLs where a collection is empty). A graph is kept with these, never
    with rows read by another statement: a change committed between two statements (even one undone just after)
    can never leave a graph kept with rows it does not hold."""
    u_keys, m_keys, c_keys, v_keys, a_keys = _attribute_keys()

    def values(obj, keys):
        return tuple(getattr(obj, k) for k in keys) if obj is not None else (None,) * len(keys)

    head = values(user, u_keys)
    rows = []
    for m in sorted(user.memberships, key=lambda x: x.id) or [None]:
        c = m.collectivity if m is not None else None
        conventions = sorted(c.conventions, key=lambda x: x.id) if c is not None else []
        activations = sorted(c.activations, key=lambda x: x.id) if c is not None else []
        for v in conventions or [None]:
            for a in activations or [None]:
                rows.append(head + values(m, m_keys) + values(c, c_keys) + values(v, v_keys) + values(a, a_keys))
    return rows


def from_rows(uid: int, rows: list[tuple]):
    """The account ``uid`` in the request's session: the kept graph when ``rows`` (read at this request) are the
    graph's own, else loaded again (and kept)."""
    kept = _kept.get(uid)
    if kept is not None and kept[0] == rows:
        return _attach_copy(db.session(), kept[1], kept[2])
    user = db.session.execute(_load_statement(), {"uid": uid}).unique().scalar_one_or_none()
    if user is not None:
        _keep(uid, rows_of(user), user)
    return user


@functools.cache
def _copied_attributes(mapper) -> tuple[frozenset, dict]:
    """The keys of ``mapper``'s columns, and of its relationships (key → holds a list)."""
    return frozenset(mapper.column_attrs.keys()), {r.key: r.uselist for r in mapper.relationships}


def _copy(obj, memo: dict):
    """A new instance holding what ``obj``'s state holds (its loaded columns — lists and dicts copied, so that a change
    in place stays with the copy — and its loaded relationships, copied the same way), with ``obj``'s identity key
    and no history: what ``Session.merge(load=False)`` builds, without walking every attribute through merge's
    generic machinery (half of the cost of this context)."""
    new = memo.get(id(obj))
    if new is not None:
        return new
    state = instance_state(obj)
    mapper = state.mapper
    new = memo[id(obj)] = mapper.class_manager.new_instance()
    new_state = instance_state(new)
    new_state.key = state.key
    values = new_state.dict
    columns, relationships = _copied_attributes(mapper)
    for key, value in state.dict.items():
        if key in columns:
            values[key] = list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        elif key not in relationships:  # the instance's own attributes (its state, cached values): not the row's
            continue
        elif relationships[key]:
            set_committed_value(new, key, [_copy(x, memo) for x in value])
        else:
            values[key] = None if value is None else _copy(value, memo)
    return new


def _attach_copy(session, user, keys: frozenset):
    """A copy of the kept graph ``user`` (objects of identity ``keys``) in ``session``, persistent and unmodified.
    When one of those objects is already in the session (a request that loaded it before), ``merge`` reconciles
    them, as before."""
    if session.identity_map and any(key in session.identity_map for key in keys):
        copy = session.merge(user, load=False)
        for m in copy.memberships:  # JSON lists: never shared with the kept graph (a change in place stays here)
            set_committed_value(m, "extra_permissions", list(m.extra_permissions or []))
            for conv in m.collectivity.conventions:
                set_committed_value(conv, "services", list(conv.services or []))
        return copy
    copy = _copy(user, {})
    session.add(copy)  # persistent (it has its key), and every object of the graph with it (save-update cascade)
    return copy


def _keep(uid: int, rows: list[tuple], user) -> None:
    memo: dict = {}
    copy = _copy(user, memo)  # detached, shared by no session: copied again into each request's session
    keys = frozenset(instance_state(obj).key for obj in memo.values())
    with _lock:
        if len(_kept) >= MAX_ACCOUNTS:
            _kept.clear()
        _kept[uid] = (rows, copy, keys)


def forget() -> None:
    """Drop every kept graph (tests; never needed for correctness)."""
    with _lock:
        _kept.clear()

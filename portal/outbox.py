"""The after-commit hand-off to Celery, written once (DESIGN.md §4, « nothing is lost »).

A write that needs background work first adds its row (an e-mail, a delivery, a job…) to the user's transaction,
then calls :func:`enqueue_after_commit` with the task and the row ids. The ids wait in the session; when the
transaction commits, each task is handed to the broker (in-process when embedded). If the transaction rolls back,
nothing is sent. If the broker is down, the row stays as it is and :func:`hand_off` keeps the call: a thread of the
process tries it again every few seconds (``HANDOFF_RETRY_SECONDS``) and hands it off as soon as the broker answers;
the service's periodic flush or requeue remains for a process that dies meanwhile — so a hand-off failure is logged,
never raised into the request that already committed. Every hand-off of the portal and its services goes through
:func:`hand_off`.

    enqueue_after_commit(deliver_email, email_id)                 # one task call with args [email_id]
    enqueue_after_commit(send_batch, *ids, batch=100)            # ids grouped: send_batch([id1…id100]), …
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)

_KEY = "outbox_after_commit"


def enqueue_after_commit(task, *ids, batch: int | None = None, session: Session | None = None) -> None:
    """Hand ``task`` to the broker once the current transaction commits.

    Without ``batch`` the task is called once per id (``task(id)``); with ``batch`` it gets lists of at most that
    many ids (``task([id, …])``). ``session`` defaults to the request's ``db.session``.
    """
    session = session if session is not None else db.session()
    pending = session.info.setdefault(_KEY, [])
    pending.append((task, list(ids), batch))


def _calls(task, ids, batch):
    if batch is None:
        for i in ids:
            yield [i]
    else:
        for start in range(0, len(ids), batch):
            yield [ids[start:start + batch]]


@event.listens_for(Session, "after_commit")
def _dispatch(session) -> None:
    pending = session.info.pop(_KEY, None)
    for task, ids, batch in pending or ():
        for args in _calls(task, ids, batch):
            hand_off(task, args)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, previous_transaction) -> None:
    """Any rollback of the whole transaction (a savepoint's does not count) forgets the hand-offs asked for in it,
    even when nothing had reached the database yet."""
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


# Hand-offs the broker refused, tried again by one thread per process until it answers.
HANDOFF_RETRY_SECONDS = 2.0
_waiting: list[tuple[object, list]] = []
_waiting_lock = threading.Lock()
_retry_thread: threading.Thread | None = None


def hand_off(task, args: list) -> bool:
    """``task.apply_async(args=args)`` now; if the broker is unreachable, again every ``HANDOFF_RETRY_SECONDS`` until
    it answers (in this process), instead of waiting for the periodic requeue. Returns whether it left now. The
    tasks handed off this way are idempotent (they claim their rows), so a later requeue of the same row is harmless."""
    try:
        task.apply_async(args=args, countdown=0)
        return True
    except Exception as exc:  # noqa: BLE001 - broker down: keep the call, retried below
        log.warning("broker unreachable (%s): %s%s will be handed off as soon as it answers",
                    type(exc).__name__, getattr(task, "name", task), args)
        _retry_later(task, args)
        return False


def pending_hand_offs() -> int:
    """How many hand-offs of this process wait for the broker."""
    with _waiting_lock:
        return len(_waiting)


def _retry_later(task, args: list) -> None:
    global _retry_thread
    with _waiting_lock:
        _waiting.append((task, list(args)))
        if _retry_thread is None or not _retry_thread.is_alive():
            _retry_thread = threading.Thread(target=_retry_loop, name="outbox-hand-off-retry", daemon=True)
            _retry_thread.start()


def _retry_loop() -> None:
    while True:
        time.sleep(HANDOFF_RETRY_SECONDS)
        with _waiting_lock:
            if not _waiting:
                return
            task, args = _waiting[0]
        try:
            _send_fresh(task, args)
        except Exception as exc:  # noqa: BLE001 - still down: try again later
            log.debug("broker still unreachable: %s", exc)
            continue
        log.info("broker back: %s%s handed off", getattr(task, "name", task), args)
        with _waiting_lock:
            _waiting.pop(0)
            while _waiting:  # the broker answers: the others at once
                task, args = _waiting[0]
                try:
                    _send_fresh(task, args)
                except Exception:  # noqa: BLE001
                    break
                _waiting.pop(0)


def _send_fresh(task, args: list) -> None:
    """One try on a new broker connection (none of a pool made while the broker was down)."""
    with task.app.connection_for_write() as connection:
        task.apply_async(args=args, countdown=0, retry=False, connection=connection)

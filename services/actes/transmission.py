"""Transmission of acts through the TdT, and what comes back: the second half of the service's operations (the
first, deposit and checks, is ``operations.py``). No ``flask.request`` here: pages, API, CLI and tasks call it.

« Nothing sent twice, nothing lost »: :func:`submit` only writes « queued » and hands the act to the outbox after
the commit; the task :func:`transmit` first commits ``send_started_at``, then calls the TdT, then commits the
transaction id. A worker that dies between the call and that commit leaves ``send_started_at`` without an id: the
next run does not send again but sets « erreur » asking to check the TdT before retrying.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import to_local, today as local_today
from portal import audit
from portal.dates import add_months
from portal.extensions import db
from portal.models import utcnow
from portal.outbox import enqueue_after_commit

from . import credentials, message, stamp, tdt
from .models import IN_FLIGHT, REPLY_KINDS, Act, PrefectureReply
from .schemas import DEFAULT_ANNEX_TYPE
from .operations import (add_file, check, deposit_of, form_of, note_prefecture_version, prefecture_of,
                         read_file, refresh_classification, set_status)

log = logging.getLogger(__name__)

POLL_FIRST = dt.timedelta(minutes=2)
POLL_MAX = dt.timedelta(hours=6)


class ActionRefused(Exception):
    """An action the act's state or the TdT refuses; ``str(exc)`` is the French message for the person."""


def _transmit_task():
    from .tasks import transmit_act

    return transmit_act


def submit(act: Act, user) -> message.ActForm:
    """Checks again, builds and validates the ACTES form, queues the act (sent after the commit)."""
    if act.status not in ("draft", "error") or act.tdt_transaction_id:
        raise ActionRefused(_("This act has already been sent."))
    report = check(act.collectivity, deposit_of(act), exclude_act=act.id)
    if not report.ok:
        raise ActionRefused(" ".join(p.message for p in report.errors))
    form = form_of(act)
    xml = message.build_acte(form)
    try:
        message.validate(xml)
    except message.MessageError as exc:  # a defect of ours or of the collectivity's data: nothing leaves
        log.error("actes: form of act %s does not conform, not sent: %s", act.id, exc)
        raise ActionRefused(_("The act could not be prepared for the préfecture (the collectivity's identifiers "
                              "are incomplete); the department's team has been told.")) from exc
    old = act.file("message")
    if old is not None:
        act.files.remove(old)
    add_file(act, "message", message.file_names(form)["form"], xml, mimetype="application/xml")
    act.send_started_at = None
    set_status(act, "queued")
    audit.record("actes.act_sent", target=act, collectivity=act.collectivity, user=user, number=act.number)
    enqueue_after_commit(_transmit_task(), act.id)
    return form


def retry(act: Act, user) -> None:
    if act.status != "error":
        raise ActionRefused(_("Only an act in error can be sent again."))
    if act.tdt_transaction_id:  # the TdT has it: ask it again instead of sending a second copy
        act.next_poll_at, act.poll_failures = utcnow(), 0
        set_status(act, "posted", _("status asked again"))
        audit.record("actes.act_retried", target=act, collectivity=act.collectivity, user=user)
        return
    submit(act, user)


def _fields(act: Act, form: message.ActForm) -> tuple[dict, list[tdt.FilePart]]:
    levels = act.matiere.split(".")
    fields = {"nature_code": str(act.nature), "number": act.number, "subject": act.subject,
              "decision_date": act.decision_date.isoformat(), "en_attente": "0",
              "document_papier": "1" if act.paper_annexes else "0", "type_acte": act.file("act").piece_type,
              "type_pj[]": [f.piece_type for f in act.annexes]}
    for i, code in enumerate(levels[:5], start=1):
        fields[f"classif{i}"] = code
    names = message.file_names(form)
    files = [tdt.FilePart("acte_pdf_file", names["act"], read_file(act.sent_file))]
    for f, name in zip(act.annexes, names["annexes"]):
        files.append(tdt.FilePart("acte_attachments[]", name, read_file(f), f.mimetype))
    return fields, files


def transmit(act_id: int, conn: tdt.Connector | None = None) -> str:
    """Send one queued act to the TdT (the outbox task). Returns the act's status afterwards."""
    act = db.session.get(Act, act_id)
    if act is None or act.status != "queued":
        return act.status if act else "missing"
    if act.send_started_at is not None:
        set_status(act, "error", _("The transmission was interrupted; check on the TdT whether the act arrived "
                                   "before sending it again."))
        db.session.commit()
        return act.status
    fields, files = _fields(act, form_of(act))
    act.send_started_at = utcnow()
    db.session.commit()
    try:
        conn = conn or credentials.connector_for(act.collectivity)
        transaction = conn.send(fields, files)
    except (credentials.CertificateExpired, credentials.NoCertificate) as exc:
        log.warning("actes: act %s not sent: %s", act.id, exc.__class__.__name__)
        act.send_started_at = None
        set_status(act, "error", str(exc))
    except tdt.TdtRefused as exc:
        act.send_started_at = None
        set_status(act, "error", _("The TdT refused the act: %(reason)s", reason=str(exc)))
    except tdt.TdtUnavailable as exc:
        log.warning("actes: act %s not sent, TdT unavailable: %s", act.id, exc)
        act.send_started_at = None
        set_status(act, "error", _("The TdT could not be reached; nothing was sent. Send it again later."))
    else:
        act.tdt_transaction_id = transaction
        act.next_poll_at, act.poll_failures = utcnow() + POLL_FIRST, 0
        set_status(act, "posted")
    db.session.commit()
    return act.status


def poll(act: Act, conn: tdt.Connector) -> str:
    """Ask the TdT where an act stands; the AR makes it « acquittement reçu », stamped and published. ``conn`` may
    be the error met opening the collectivity's connector (its certificate expired…): counted as a failure."""
    try:
        if isinstance(conn, tdt.TdtError):
            raise conn
        st = conn.status(act.tdt_transaction_id)
    except tdt.TdtError as exc:
        act.poll_failures += 1
        act.next_poll_at = utcnow() + min(POLL_FIRST * (2 ** act.poll_failures), POLL_MAX)
        log.warning("actes: status of act %s not read (%s failures): %s", act.id, act.poll_failures, exc)
        return act.status
    act.poll_failures = 0
    if st.status == "acknowledged" and st.ar_xml:
        _acknowledge(act, st.ar_xml)
    elif st.status == "acknowledged":  # an archiving status after the AR, which S²LOW no longer sends with it
        log.warning("actes: act %s acknowledged on the TdT (status %s) but no ARActe came with it", act.id, st.code)
    elif st.status == "error":
        set_status(act, "error", _("The TdT reports an error: %(reason)s", reason=st.detail or str(st.code)))
    elif st.status != act.status:
        set_status(act, st.status)
    if act.status in IN_FLIGHT:
        act.next_poll_at = utcnow() + POLL_FIRST
    else:
        act.next_poll_at = None
    return act.status


def _acknowledge(act: Act, ar_xml: bytes) -> None:
    msg = message.read(ar_xml)
    if msg.type != "ARActe":
        raise message.MessageError(f"expected an ARActe, got {msg.type}")
    act.ar_xml = ar_xml
    act.unique_id = msg.identifiers.get("IDActe")
    act.received_on = dt.date.fromisoformat(msg.dates["DateReception"])
    current = msg.dates.get("ClassificationDateVersionEnCours")
    if current:
        note_prefecture_version(prefecture_of(act.collectivity), dt.date.fromisoformat(current))
    set_status(act, "acknowledged")
    if act.publication_kind != "individual":
        act.published_at = utcnow()
    main = act.sent_file
    # the date of publication in the commune's département (published_at is a UTC moment: from 23:00 UTC its date
    # is still yesterday in Paris)
    lines = stamp.stamp_lines(act.unique_id or "", act.received_on,
                              to_local(act.published_at, act.collectivity).date() if act.published_at else None)
    add_file(act, "stamped", f"{act.unique_id}-tamponne.pdf", stamp.stamp_pdf(read_file(main), lines),
              mimetype="application/pdf")
    audit.record("actes.ar_received", target=act, collectivity=act.collectivity, user=False,
                 unique_id=act.unique_id)


def poll_due(conn: tdt.Connector | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """The beat task's work: every act due for a status, then the préfecture's new documents."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    ids = db.session.scalars(select(Act.id).where(Act.status.in_(("posted", "pending", "transmitted")),
                                                  Act.tdt_transaction_id.is_not(None), Act.next_poll_at <= now))
    by_collectivity: dict[int, tdt.Connector | tdt.TdtError] = {}
    for act_id in list(ids):
        act = db.session.get(Act, act_id)
        own = conn
        if own is None:  # each collectivity's transactions are read with its own certificate
            if act.collectivity_id not in by_collectivity:
                try:
                    by_collectivity[act.collectivity_id] = credentials.connector_for(act.collectivity)
                except tdt.TdtError as exc:
                    by_collectivity[act.collectivity_id] = exc
            own = by_collectivity[act.collectivity_id]
        status = poll(act, own)
        db.session.commit()
        counts[status] = counts.get(status, 0) + 1
    if conn is not None:
        counts["replies"] = fetch_replies(conn)
    else:
        counts["replies"] = 0
        for _cid, each in credentials.connectors():
            counts["replies"] += fetch_replies(each)
    return counts


def fetch_replies(conn: tdt.Connector) -> int:
    """New documents of the préfecture (courrier simple, demande de pièces, lettre d'observations, déféré)."""
    try:
        docs = conn.prefecture_documents()
    except tdt.TdtError as exc:
        log.warning("actes: préfecture documents not read: %s", exc)
        return 0
    new = 0
    for doc in docs:
        act = db.session.scalar(select(Act).where(Act.tdt_transaction_id == doc.related_transaction_id)) or (
            db.session.scalar(select(Act).where(Act.unique_id == doc.unique_id)) if doc.unique_id else None)
        if act is None or doc.kind not in REPLY_KINDS:
            log.warning("actes: préfecture document %s (type %s) matches no act", doc.id, doc.kind)
            continue
        if any(r.tdt_document_id == doc.id for r in act.replies):
            continue
        try:  # S²LOW sends the document's envelope: a tar.gz of the préfecture's message and its PDF letter
            files = tdt.archive_files(conn.document(doc.id))
        except tdt.TdtError as exc:
            log.warning("actes: préfecture document %s not read: %s", doc.id, exc)
            continue
        received = local_today(act.collectivity)
        reply = PrefectureReply(commune_insee=act.commune_insee, tdt_document_id=doc.id, kind=REPLY_KINDS[doc.kind],
                                received_on=received, answer_due_on=add_months(received, 2))
        main = None
        for name, data in files:
            stored = add_file(act, "reply", name, data)  # type read from the bytes
            is_pdf = stored.mimetype == "application/pdf"
            if main is None or (is_pdf and main.mimetype != "application/pdf"):
                main = stored  # the letter itself (the PDF) when there is one
        if main is not None:
            reply.document_key, reply.document_sha256, reply.document_size = main.storage_key, main.sha256, main.size
        act.replies.append(reply)
        audit.record("actes.reply_received", target=act, collectivity=act.collectivity, user=False,
                     kind=reply.kind)
        db.session.commit()
        conn.mark_read(doc.id)
        new += 1
    return new


ANSWER_TYPES = tdt.ANSWER_SEND_TYPES  # reponse, pieces (the documents asked for), refus


# Which answers each kind of letter takes: pieces and refusal answer a request for additional documents only.
ANSWERS_FOR = {"demande_pieces": ("pieces", "refus"), "courrier_simple": ("reponse",),
               "lettre_observations": ("reponse",), "defere": ("reponse",)}


def answer_reply(reply: PrefectureReply, user, kind: str, pdf: bytes, filename: str,
                 conn: tdt.Connector | None = None, *, pieces: list[tuple[str, bytes]] = (),
                 note: str = "") -> None:
    """Answer a letter of the préfecture through the TdT: the letter of answer (PDF) and, for a request for
    additional documents, the documents themselves (``pieces``)."""
    if reply.answered_at is not None:
        raise ActionRefused(_("This letter has already been answered."))
    if kind not in ANSWER_TYPES:
        raise ActionRefused(_("Choose an answer: response, documents or refusal."))
    if kind not in ANSWERS_FOR.get(reply.kind, ("reponse",)):
        raise ActionRefused(_("Additional documents are sent, or refused, only in answer to a request for "
                              "additional documents; answer this letter with a response."))
    if kind == "pieces" and not pieces:
        raise ActionRefused(_("Add the additional documents the préfecture asked for."))
    files = [tdt.FilePart("acte_pdf_file", filename, pdf)]
    files += [tdt.FilePart("acte_attachments[]", name, data) for name, data in (pieces if kind == "pieces" else ())]
    try:
        conn = conn or credentials.connector_for(reply.act.collectivity)
        act_file = reply.act.file("act")
        reply.answer_transaction_id = conn.answer(
            reply.tdt_document_id, kind, files, type_acte=act_file.piece_type if act_file else "",
            type_pj=[DEFAULT_ANNEX_TYPE] * (len(files) - 1))
    except tdt.TdtRefused as exc:
        raise ActionRefused(_("The TdT refused the answer: %(reason)s", reason=str(exc))) from exc
    except tdt.TdtUnavailable as exc:
        log.warning("actes: answer to document %s not sent: %s", reply.tdt_document_id, exc)
        raise ActionRefused(_("The TdT could not be reached; nothing was sent. Try again later.")) from exc
    reply.answer_kind, reply.answered_at, reply.answer_text = kind, utcnow(), note.strip()[:2000]
    audit.record("actes.reply_answered", target=reply.act, collectivity=reply.act.collectivity, user=user,
                 kind=kind, pieces=len(files) - 1 or None)


def cancel(act: Act, user, conn: tdt.Connector | None = None) -> None:
    if not act.tdt_transaction_id or act.status in ("cancelled", "draft"):
        raise ActionRefused(_("Only a transmitted act can be cancelled."))
    try:
        conn = conn or credentials.connector_for(act.collectivity)
        conn.cancel(act.tdt_transaction_id)
    except tdt.TdtRefused as exc:
        raise ActionRefused(_("The TdT refused the cancellation: %(reason)s", reason=str(exc))) from exc
    except tdt.TdtUnavailable as exc:
        log.warning("actes: cancellation of act %s not sent: %s", act.id, exc)
        raise ActionRefused(_("The TdT could not be reached; the act is not cancelled. Try again later.")) from exc
    set_status(act, "cancelled")
    act.published_at = None
    act.next_poll_at = None
    audit.record("actes.act_cancelled", target=act, collectivity=act.collectivity, user=user, number=act.number)


def classification_refresh(prefecture: str) -> None:
    """Fetch the préfecture's classification again (after an act was refused as out of date)."""
    try:
        refresh_classification(prefecture)
    except (tdt.TdtError, ValueError) as exc:
        log.warning("actes: classification of %s not fetched: %s", prefecture, exc)

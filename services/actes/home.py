"""The panel of the commune's (or EPCI's) home page: what is waiting in the legality control, with its dates.

- acts waiting for the visa of the secretary, or for the signature of the mayor;
- letters of the préfecture not answered yet, with their answer date (two months after reception);
- listes des délibérations to publish within a week of the séance (L2121-25), late ones first;
- acts in error, with the reason.

The descriptor passes :func:`home_panel`; the portal's home page renders its HTML under the tiles. The panel reads
the columns it shows only (rows, not acts: an act is thirty columns and an ORM object the panel never needs).
"""
from __future__ import annotations

import functools

from sqlalchemy import bindparam, select

from portal.home import render_panel
from portal.identity import today as local_today
from portal.extensions import db
from portal.tenancy import kept

from . import seances
from .models import Act, PrefectureReply

LIMIT = 8
_ACT_COLUMNS = (Act.id, Act.number, Act.subject, Act.visa_at, Act.status_reason)


@functools.cache
def _statements() -> tuple:
    """The panel's four lists of acts of the collectivity ``collectivity_id``: drafts waiting for the visa, for the
    signature, acts in error, letters of the préfecture not answered (built once: see ``portal.tenancy.kept``)."""
    owned = Act.collectivity_id == bindparam("collectivity_id")
    acts = select(*_ACT_COLUMNS).where(owned)
    drafts = acts.where(Act.status == "draft", Act.signed_at.is_(None))
    replies = (select(PrefectureReply.answer_due_on, Act.id, Act.number, Act.subject)
               .select_from(PrefectureReply).join(Act, PrefectureReply.act_id == Act.id)
               .where(owned, PrefectureReply.answered_at.is_(None), Act.status != "cancelled")
               .order_by(PrefectureReply.answer_due_on).limit(LIMIT))
    return tuple(kept(statement) for statement in (
        drafts.where(Act.visa_at.is_(None)).order_by(Act.decision_date).limit(LIMIT),
        drafts.where(Act.visa_at.is_not(None)).order_by(Act.visa_at).limit(LIMIT),
        acts.where(Act.status == "error").order_by(Act.updated_at.desc()).limit(LIMIT),
        replies))


def home_panel(collectivity, permissions) -> str | None:
    if collectivity is None or "actes.read" not in permissions:
        return None
    owner = {"collectivity_id": collectivity.id}
    to_visa, to_sign, errors, replies = (db.session.execute(statement, owner).all() for statement in _statements())
    lists = seances.lists_to_publish(collectivity)[:LIMIT]
    if not (to_visa or to_sign or errors or replies or lists):
        return None
    return render_panel("actes/_home_panel.html", to_visa=to_visa, to_sign=to_sign, errors=errors,
                        replies=replies, lists=lists, today=local_today(collectivity),
                        may_sign="actes.sign" in permissions, may_write="actes.write" in permissions)

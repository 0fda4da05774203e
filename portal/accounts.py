"""Account operations shared by the mairie pages (invitations) and the department pages (first accounts)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit
from .extensions import db
from .mail import queue_email
from .models import Collectivity, Membership, User
from .security import issue_one_time_token
from .urls import absolute_url


class AccountError(ValueError):
    """A refused operation; the message is for the user (French through the catalog)."""


def invite(email: str, full_name: str, collectivity: Collectivity, role: str, by: User | None,
           purpose: str = "invitation", other_mayors: list[str] | None = None) -> Membership:
    """Give ``email`` a role in ``collectivity``: a new account gets a single-use link to choose its password;
    an existing one is told it has a new membership. Raises AccountError when the person is already a member.
    ``other_mayors``: for the department's mayor accounts (``purpose="activation"``), the mayors already there —
    the event is then « another mayor's account », not « first account »."""
    user = db.session.scalar(select(User).where(User.email == email))
    created = user is None
    if created:
        user = User(email=email, full_name=(full_name or "").strip(), status="invited")
        db.session.add(user)
        db.session.flush()
    elif user.membership_for(collectivity.id) is not None:
        raise AccountError(_("%(email)s is already a member of %(name)s.", email=email, name=collectivity.name))
    membership = Membership(user=user, collectivity=collectivity, role=role, created_by_id=getattr(by, "id", None))
    db.session.add(membership)
    db.session.flush()
    context = {"user": user, "collectivity": collectivity, "role": role, "inviter": by}
    if user.status == "invited":
        token = issue_one_time_token(user, purpose)
        context["link"] = absolute_url("auth.set_password", token=token)
        # Lazy strings: the subject is rendered in the recipient's language, like the body.
        subject = (_l("Your account on the extranet for %(name)s", name=collectivity.name) if purpose == "activation"
                   else _l("Invitation to the extranet for %(name)s", name=collectivity.name))
        queue_email(user.email, subject, purpose, locale=user.locale, **context)
    else:
        context["link"] = absolute_url("auth.login")
        queue_email(user.email, _l("New access: %(name)s", name=collectivity.name), "new_membership",
                    locale=user.locale, **context)
    audit.record("member.invited" if purpose == "invitation" else
                 "account.mayor_added" if other_mayors else "account.first_created",
                 target=membership, collectivity=collectivity, user=by, email=email, role=role,
                 new_account=created, other_mayors=other_mayors or None)
    return membership

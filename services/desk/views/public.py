"""Pages of the desk without sign-in: leaving the e-mail digest from the link of a message (a page with one button;
a GET changes nothing) or in one click from the mail client (RFC 8058 POST). The signed token in the URL is the only
key: it names one person and is checked with ``SECRET_KEY``."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from portal.extensions import csrf, db
from portal.forms import ConfirmForm
from portal.models import User

from . import PACKAGE
from .. import operations
from ..digest import user_of_token

public_bp = Blueprint("desk_public", __name__, root_path=PACKAGE, template_folder="templates",
                      static_folder="static", static_url_path="/static")


def _user_or_404(token: str) -> User:
    user_id = user_of_token(token)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    return user


@public_bp.route("/desabonnement/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    user = _user_or_404(token)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        operations.set_digest_frequency(user, "never", via="link")
        db.session.commit()
        return render_template("desk/public/unsubscribed.html")
    return render_template("desk/public/unsubscribe.html", form=form, email=user.email)


@public_bp.post("/desabonnement/<token>/un-clic")
@csrf.exempt
def one_click(token: str):
    operations.set_digest_frequency(_user_or_404(token), "never", via="one-click")
    db.session.commit()
    return Response("", status=204)

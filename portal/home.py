"""Home page, collectivity switcher, profile and personal access tokens."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from . import audit
from .extensions import db
from .forms import ApiTokenForm, ConfirmForm, ProfileForm
from .models import ApiToken, utcnow
from .registry import service_tiles
from .security import create_api_token

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return public_home()
    collectivity = g.collectivity
    if collectivity is None:
        return render_template("home/no_membership.html")
    if collectivity.is_operator:
        return redirect(url_for("admin.collectivities"))
    convention = collectivity.convention_in_force()
    tiles = service_tiles(collectivity, g.permissions)
    lead_panels, panels = [], []  # core parts of the portal (the news) lead the page; services' panels follow
    for t in tiles:
        panel_of = t["service"].home_panel
        if t["state"] == "subscribed" and panel_of is not None:
            html = panel_of(collectivity, g.permissions)
            if html:
                (lead_panels if t["service"].core else panels).append(Markup(html))
    return render_template("home/index.html", tiles=tiles, convention=convention, panels=panels,
                           lead_panels=lead_panels)


def render_panel(template: str, **context) -> Markup:
    """A home panel's HTML: ``template`` rendered with ``context`` over the request's template context, which the
    context processors work out once for all the panels of the page (``render_template`` would run every one of
    them again for each panel)."""
    app = current_app._get_current_object()
    shared = g.get("home_panel_context")
    if shared is None:
        shared = g.home_panel_context = {}
        app.update_template_context(shared)
    return Markup(app.jinja_env.get_template(template).render({**shared, **context}))


def public_home():
    """The portal's page for people without an account: what it is, the residents' and companies' pages of the
    deployed services (each only when its public page exists), the sign-in button."""
    views = current_app.view_functions
    links = [(endpoint, label, text) for endpoint, label, text in PUBLIC_LINKS if endpoint in views]
    return render_template("home/public.html", links=links, has_directory="desk_public.public_directory" in views)


# The public pages listed on the public home page, when their service is deployed (endpoint, title, description).
PUBLIC_LINKS = (
    ("tenders_public.index", _l("Public tenders"),
     _l("The consultations of the communes and intercommunalities open to companies.")),
    ("desk_public.public_jobs", _l("Job offers"),
     _l("Posts offered by the local authorities and the centre de gestion.")),
    ("desk_public.public_directory", _l("Directory of the communes"),
     _l("Hours and contacts of each mairie, its published acts, its alerts by SMS and e-mail.")),
)


@bp.post("/collectivite/changer")
@login_required
def switch():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = request.form.get("collectivity_id", "")
    membership = current_user.membership_for(int(wanted)) if wanted.isdigit() else None
    if membership is None:
        abort(403)
    session["active_collectivity_id"] = membership.collectivity_id
    flash(_("You are now working for %(name)s.", name=membership.collectivity.name), "info")
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home.index"))


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    if request.method == "GET":
        form.locale.data = user.locale or "fr"
    token_form = ApiTokenForm(prefix="token")
    if form.submit.data and form.validate_on_submit():
        user.full_name = form.full_name.data.strip()
        user.locale = form.locale.data
        session["lang"] = user.locale
        audit.record("account.profile_updated", target=user)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("home.profile"))
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("home/profile.html", form=form, token_form=token_form, tokens=tokens,
                           revoke_form=ConfirmForm(), new_token=session.pop("new_api_token", None))


@bp.post("/profil/jetons")
@login_required
def create_token():
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for("home.profile"))
    user = current_user._get_current_object()
    tok, clear = create_api_token(user, form.name.data.strip())
    db.session.flush()
    audit.record("api_token.created", target=tok, name=tok.name)
    db.session.commit()
    session["new_api_token"] = clear  # shown once, on the next page only
    return redirect(url_for("home.profile"))


@bp.post("/profil/jetons/<int:token_id>/revoquer")
@login_required
def revoke_token(token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    tok = db.session.get(ApiToken, token_id)
    if tok is None or tok.user_id != current_user.id:
        abort(404)
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit.record("api_token.revoked", target=tok, name=tok.name)
        db.session.commit()
    flash(_("The token is revoked."), "info")
    return redirect(url_for("home.profile"))


# The département's identity (portal/identity.py): colours, logo and legal notices, open to everyone. ``?d=`` names
# the identity (a département code or an operator's SIREN), so that the public pages of a commune of another
# département wear that département's.

def _identity_from_args():
    from .identity import current_identity, identity_for

    code = (request.args.get("d") or "").strip().upper()
    if code and len(code) <= 9 and code.isalnum():
        return identity_for(code)
    return current_identity()


@bp.get("/p/identite.css")
def identity_css():
    from flask import Response

    ident = _identity_from_args()
    css = ":root { --blue: %s; --blue-hover: %s; --red: %s; }\n" % (ident.colour, ident.colour, ident.accent)
    resp = Response(css, mimetype="text/css")
    resp.cache_control.public, resp.cache_control.max_age = True, 3600
    return resp


@bp.get("/p/identite/logo")
def identity_logo():
    from flask import send_file

    ident = _identity_from_args()
    if ident.logo_path is None:
        abort(404)
    resp = send_file(ident.logo_path, mimetype=ident.logo_type, max_age=3600)
    if ident.logo_type == "image/svg+xml":
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


@bp.get("/mentions-legales")
def legal_notices():
    """The legal notices page of the département (or operator) the visitor is on."""
    from markupsafe import escape

    ident = _identity_from_args()
    g.identity_code = ident.code  # the whole page (header, footer) wears it
    blocks = []
    for block in (ident.legal_notices or "").replace("\r\n", "\n").split("\n\n"):
        block = block.strip()
        if block.startswith("#"):
            blocks.append(Markup("<h2>%s</h2>") % block.lstrip("#").strip())
        elif block:
            blocks.append(Markup("<p>%s</p>") % Markup(" ").join(escape(line) for line in block.splitlines()))
    return render_template("home/legal_notices.html", page_identity=ident, blocks=blocks)

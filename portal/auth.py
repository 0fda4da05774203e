"""Sign in and out, account activation, invitations and password reset."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from . import audit
from .extensions import db
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, SetPasswordForm
from .mail import queue_email
from .models import User, utcnow
from .security import (THROTTLE_MAX_FAILURES, address_max_failures, check_password, find_one_time_token, hash_password,
                       is_throttled, issue_one_time_token, password_problems, recent_failures, record_attempt)
from .urls import absolute_url

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client_ip() -> str:
    return request.remote_addr or "?"


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email, ip = form.email.data, _client_ip()
        if is_throttled(email, ip):
            log.warning("sign-in refused: throttled (from %s)", ip)
            flash(_("Too many failed attempts. For your security, signing in is blocked for 15 minutes."),
                  "error")
            return render_template("auth/login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.status == "active" and check_password(user, form.password.data):
            record_attempt(email, ip, True)
            user.last_login_at = utcnow()
            session.clear()
            login_user(user)
            audit.record("auth.login", target=user, user=user)
            db.session.commit()
            return redirect(_safe_next(form.next.data) or url_for("home.index"))
        record_attempt(email, ip, False)
        by_email, by_ip = recent_failures(email, ip)
        if by_email == THROTTLE_MAX_FAILURES or by_ip == address_max_failures():
            audit.record("auth.locked", target_type="User", target_id=user.id if user else "", user=user,
                         email=email, failures_for_email=by_email, failures_from_address=by_ip)
        db.session.commit()
        log.info("sign-in failed (user %s) from %s", user.id if user is not None else "unknown", ip)
        if user is not None and user.status == "suspended":
            flash(_("This account is suspended. Contact the department's team."), "error")
        elif user is not None and user.status == "invited":
            flash(_("This account is not activated yet: use the link of the e-mail you received."), "error")
        else:
            flash(_("Incorrect e-mail address or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/deconnexion")
@login_required
def logout():
    user = current_user._get_current_object()
    # Server side: a copy of the session cookie kept from before (another tab, a stolen cookie) stops working too.
    # The version is the user's, so signing out ends every session of the account.
    user.session_version += 1
    audit.record("auth.logout", target=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        if user is not None and user.status == "active":
            token = issue_one_time_token(user, "reset")
            queue_email(user.email, _l("Reset your password"), "reset", locale=user.locale,
                        user=user, link=absolute_url("auth.set_password", token=token))
            audit.record("auth.reset_requested", target=user, user=user)
        else:
            log.info("password reset asked for an unknown or inactive address (user %s)",
                     user.id if user is not None else "unknown")
        db.session.commit()
        # Same answer whether the account exists or not: the page must not reveal who has an account.
        flash(_("If an active account uses this address, a link to choose a new password has been sent to it. "
                "It is valid for 48 hours."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Activation (first account), invitation and reset links all land here."""
    tok = find_one_time_token(token, ("activation", "invitation", "reset"))
    if tok is None:
        return render_template("auth/link_invalid.html"), 410
    user = tok.user
    if user.status == "suspended":
        return render_template("auth/link_invalid.html"), 410
    form = SetPasswordForm(full_name=user.full_name)
    if form.validate_on_submit():
        problems = password_problems(form.password.data, (user.email, form.full_name.data or user.full_name))
        if problems:
            form.password.errors = list(form.password.errors) + problems
        else:
            first_time = user.status == "invited"
            user.password_hash = hash_password(form.password.data)
            if form.full_name.data:
                user.full_name = form.full_name.data.strip()
            user.status = "active"
            user.session_version += 1
            tok.used_at = utcnow()
            audit.record("account.activated" if first_time else "auth.password_reset", target=user, user=user,
                         collectivity=user.memberships[0].collectivity if user.memberships else None,
                         via=tok.purpose)
            db.session.commit()
            session.clear()
            login_user(user)
            flash(_("Your password is saved. Welcome!") if first_time else _("Your password is changed."),
                  "success")
            return redirect(url_for("home.index"))
    return render_template("auth/set_password.html", form=form, user=user, purpose=tok.purpose)


@bp.route("/profil/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not check_password(user, form.current.data):
            form.current.errors = list(form.current.errors) + [_("The current password is incorrect.")]
        else:
            problems = password_problems(form.password.data, (user.email, user.full_name))
            if problems:
                form.password.errors = list(form.password.errors) + problems
            else:
                user.password_hash = hash_password(form.password.data)
                user.session_version += 1
                audit.record("auth.password_changed", target=user)
                db.session.commit()
                login_user(user)  # keep this session, others are signed out
                flash(_("Your password is changed."), "success")
                return redirect(url_for("home.profile"))
    return render_template("auth/change_password.html", form=form)


"""Passwords, one-time tokens, API tokens, login throttling and HTTP security headers."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from .extensions import db
from .models import ApiToken, LoginAttempt, OneTimeToken, User, utcnow

log = logging.getLogger(__name__)

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
THROTTLE_MAX_FAILURES = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)
ONE_TIME_TOKEN_TTL = dt.timedelta(hours=48)

_common_passwords: frozenset[str] | None = None


def common_passwords() -> frozenset[str]:
    """The 30 000 most common passwords of zxcvbn's frequency list (from real leaked-password corpora)."""
    global _common_passwords
    if _common_passwords is None:
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        _common_passwords = frozenset(FREQUENCY_LISTS["passwords"])
    return _common_passwords


def password_problems(password: str, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """French messages saying why a password is refused; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) <= 2:
        problems.append(_("This password is among the most common ones; choose another."))
    else:
        for word in user_inputs:
            word = (word or "").lower().split("@")[0]
            if len(word) >= 4 and word in lowered:
                problems.append(_("The password must not contain your name or e-mail address."))
                break
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def key_from_setting(name: str, *, salt: bytes, info: bytes) -> bytes:
    """A 32-byte key-encryption key: the base64 value of setting ``name`` when it is set (kept out of the database
    and its backups), else derived from ``SECRET_KEY`` (HKDF-SHA256 with ``salt`` and ``info``, one pair per use, so
    that one key never serves two purposes). ``ValueError`` when the setting is not 32 bytes of base64."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from .settings import setting

    configured = setting(name)
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError(f"{name} must be 32 bytes, base64-encoded")
        return key
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# One-time links ---------------------------------------------------------------------------------------------

def issue_one_time_token(user: User, purpose: str) -> str:
    """Create a single-use token; earlier unused tokens of the same purpose are voided. Returns the clear token."""
    now = utcnow()
    for old in db.session.scalars(
        select(OneTimeToken).where(
            OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None)
        )
    ):
        old.used_at = now
    clear = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(
            user_id=user.id, purpose=purpose, token_hash=sha256(clear), expires_at=now + ONE_TIME_TOKEN_TTL
        )
    )
    return clear


def find_one_time_token(clear: str, purposes: tuple[str, ...]) -> OneTimeToken | None:
    """The valid (unused, unexpired) token matching ``clear``, or None."""
    if not clear or len(clear) > 200:
        return None
    tok = db.session.scalar(select(OneTimeToken).where(OneTimeToken.token_hash == sha256(clear)))
    if tok is None or tok.purpose not in purposes or tok.used_at is not None or tok.expires_at < utcnow():
        return None
    return tok


# API tokens -------------------------------------------------------------------------------------------------

API_TOKEN_PREFIX = "ext_"


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    clear = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name, prefix=clear[:10], token_hash=sha256(clear))
    db.session.add(tok)
    return tok, clear


def user_from_api_token(clear: str) -> User | None:
    """The active account of a valid (not revoked) personal access token, with its request context: one statement
    reads the token and the account's context rows (portal/usercontext.py; tests/portal/test_api.py counts it)."""
    if not clear.startswith(API_TOKEN_PREFIX) or len(clear) > 200:
        return None
    from . import usercontext

    found = usercontext.check_token(sha256(clear))
    if found is None:
        return None
    (token_id, user_id, revoked_at, last_used_at), rows = found
    if revoked_at is not None:
        return None
    user = usercontext.from_rows(user_id, rows)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if last_used_at is None or now - last_used_at > dt.timedelta(minutes=1):
        # at most one write a minute per token
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


# Throttling -------------------------------------------------------------------------------------------------

def recent_failures(email: str, ip: str) -> tuple[int, int]:
    since = utcnow() - THROTTLE_WINDOW
    # A successful sign-in clears that account's earlier failures (not the address's: it may attack others).
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.success.is_(True))
    )
    email_since = max(since, last_success) if last_success else since
    by_email = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.email == email, LoginAttempt.at > email_since, LoginAttempt.success.is_(False)
        )
    )
    by_ip = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
        )
    )
    return by_email or 0, by_ip or 0


def address_max_failures() -> int:
    """Failures from one address before it is blocked: far more than an account's, since behind a reverse proxy
    or a mairie's shared internet access many people come from the same address (``SIGNIN_ADDRESS_MAX_FAILURES``)."""
    return int(current_app.config.get("SIGNIN_ADDRESS_MAX_FAILURES") or 50)


def is_throttled(email: str, ip: str) -> bool:
    by_email, by_ip = recent_failures(email, ip)
    return by_email >= THROTTLE_MAX_FAILURES or by_ip >= address_max_failures()


def record_attempt(email: str, ip: str, success: bool) -> None:
    db.session.add(LoginAttempt(email=email, ip=ip, success=success))


def purge_old_attempts(days: int = 30) -> int:
    cutoff = utcnow() - dt.timedelta(days=days)
    rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.at < cutoff)).all()
    for r in rows:
        db.session.delete(r)
    return len(rows)


# HTTP headers -----------------------------------------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


def _shows_personal_data(resp) -> bool:
    """Answers nobody may keep in a cache (browser, proxy): every page or API answer given to someone signed in
    (service pages, the department's pages, the API), unless the view set its own caching (map tiles, static
    files)."""
    from flask import request
    from flask_login import current_user

    from .context import is_api_path

    if request.endpoint == "static" or "Cache-Control" in resp.headers:
        return False
    return current_user.is_authenticated or is_api_path(request.path)


def init_headers(app: Flask) -> None:
    from .maps import basemap_origin

    basemap = basemap_origin(app.config)  # the map tiles' host, allowed once for every page
    csp = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {basemap}") if basemap else CSP

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", csp)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        if _shows_personal_data(resp):
            resp.headers["Cache-Control"] = "no-store"
        if not current_app.debug and current_app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp


"""Configuration from environment variables (every one is documented in README.md)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from . import maps
from .ops.settings import settings_from_env as ops_settings_from_env

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    v = os.environ.get(name)
    return default if v is None else v.strip().lower() in {"1", "true", "yes", "on"}


def _hosts(raw: str) -> dict[str, str]:
    """``DEPARTMENT_HOSTS="extranet.cd976.example.org=976, extranet.aube.example.org=10"`` → {host: code}."""
    out = {}
    for item in raw.replace(";", ",").split(","):
        if item.strip():
            host, _, code = item.partition("=")
            out[host.strip().lower()] = code.strip()
    return out


def _database_url(instance: Path, name: str = "DATABASE_URL") -> str:
    url = os.environ.get(name, "").strip()
    if not url:
        return f"sqlite:///{instance / 'extranet.sqlite3'}" if name == "DATABASE_URL" else ""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _secret_key(instance: Path) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    # Embedded default: a random key kept in instance/ so sessions survive restarts.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config() -> dict:
    instance = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    debug = _bool("FLASK_DEBUG", False)
    redis_url = os.environ.get("REDIS_URL", "").strip()
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    return {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # The schema owner's connection, used by `flask db upgrade` only (portal/dbroles.py); empty: DATABASE_URL.
        "DATABASE_OWNER_URL": _database_url(instance, "DATABASE_OWNER_URL"),
        # Seconds a pooled connection may sit idle before it is pinged at checkout (portal/dbpool.py).
        "DB_PING_AFTER_IDLE": float(os.environ.get("DB_PING_AFTER_IDLE", "10")),
        # Life in seconds of the signed grants a page gives its map tiles (portal/grants.py).
        "GRANT_MAX_AGE": int(os.environ.get("GRANT_MAX_AGE", "600")),
        # Sign-in behind a reverse proxy: how many proxies in front set X-Forwarded-For/-Proto (0: none trusted).
        "TRUSTED_PROXY_HOPS": int(os.environ.get("TRUSTED_PROXY_HOPS", "0")),
        # Failed sign-ins from one address (any account) within 15 minutes before it is blocked; one account: 5.
        "SIGNIN_ADDRESS_MAX_FAILURES": int(os.environ.get("SIGNIN_ADDRESS_MAX_FAILURES", "50")),
        "REDIS_URL": redis_url,
        "CELERY_EAGER": _bool("CELERY_EAGER", not redis_url),
        "BASE_URL": base_url,
        "DEPARTMENT_CODE": os.environ.get("DEPARTMENT_CODE", "10").strip().upper(),
        # The default département's time zone when IDENTITY_FILE gives none (overseas: their own by default).
        "DEPARTMENT_TIMEZONE": os.environ.get("DEPARTMENT_TIMEZONE", "Europe/Paris").strip(),
        # Name, logo, colours, footer, contact, legal notices, time zone of each département (portal/identity.py);
        # empty: the demo's (portal/data/aube/identity.toml).
        "IDENTITY_FILE": os.environ.get("IDENTITY_FILE", "").strip(),
        # Several départements on one instance: the identity of pages without a collectivity (sign-in, password
        # reset, public lists) chosen from the host name, « host=code, host=code » (portal/identity.py).
        "DEPARTMENT_HOSTS": _hosts(os.environ.get("DEPARTMENT_HOSTS", "")),
        # Overrides the identity's portal name for the default département (empty: the identity's).
        "PORTAL_NAME": os.environ.get("PORTAL_NAME", "").strip(),
        # Mail: with MAIL_SERVER empty, messages are written to MAIL_OUTBOX_DIR and logged.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),  # STARTTLS
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),  # implicit TLS (port 465)
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "20")),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Extranet des collectivités <no-reply@extranet.localhost>"),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", str(instance / "outbox")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies wherever the portal is served over HTTPS (production); the embedded default on
        # http://127.0.0.1 and debug runs cannot use them.
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not debug and base_url.startswith("https://")),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not debug and base_url.startswith("https://")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", str(8 * 3600))),
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session instead of a clock
        "BABEL_DEFAULT_LOCALE": "fr",
        # Dates shown follow the page's département (portal/identity.py); this is the default département's zone.
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("DEPARTMENT_TIMEZONE", "Europe/Paris").strip(),
        "LANGUAGES": ["fr", "en"],
        "EXTRA_SERVICES": [s for s in os.environ.get("EXTRA_SERVICES", "").split(",") if s.strip()],
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "200")) * 1024 * 1024,
        **maps.settings_from_env(),
        **ops_settings_from_env(),
    }

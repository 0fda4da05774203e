"""Operations settings, read from the environment with the rest of ``portal.config`` (every one is in README.md)."""
from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def settings_from_env() -> dict:
    return {
        # Where `flask ops backup` writes its archives (empty: instance/backups, left out of the archives).
        "BACKUP_DIR": os.environ.get("BACKUP_DIR", "").strip(),
        # A second folder (another disk, a mounted share) each new archive is copied to, retention applied there too.
        "BACKUP_COPY_DIR": os.environ.get("BACKUP_COPY_DIR", "").strip(),
        # An S3-compatible bucket each new archive is copied to (retention applied there too); empty: none.
        "BACKUP_S3_BUCKET": os.environ.get("BACKUP_S3_BUCKET", "").strip(),
        # Its endpoint (https://s3.gra.io.cloud.ovh.net, https://minio.example.org…); empty: AWS.
        "BACKUP_S3_ENDPOINT_URL": os.environ.get("BACKUP_S3_ENDPOINT_URL", "").strip(),
        # Key prefix ("folder") of the archives in the bucket.
        "BACKUP_S3_PREFIX": os.environ.get("BACKUP_S3_PREFIX", "extranet/").strip(),
        "BACKUP_S3_REGION": os.environ.get("BACKUP_S3_REGION", "").strip(),
        # The keys (empty: boto3's own chain, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an instance profile).
        "BACKUP_S3_ACCESS_KEY_ID": os.environ.get("BACKUP_S3_ACCESS_KEY_ID", "").strip(),
        "BACKUP_S3_SECRET_ACCESS_KEY": os.environ.get("BACKUP_S3_SECRET_ACCESS_KEY", "").strip(),
        # age public key (age1…): archives are encrypted to it; the private key stays off the server.
        "BACKUP_AGE_RECIPIENT": os.environ.get("BACKUP_AGE_RECIPIENT", "").strip(),
        # age identity file (AGE-SECRET-KEY-1…) read by verify and restore of encrypted archives.
        "BACKUP_AGE_IDENTITY_FILE": os.environ.get("BACKUP_AGE_IDENTITY_FILE", "").strip(),
        # Local time (Europe/Paris) of the nightly backup run by Celery beat, HH:MM; empty: no nightly backup.
        "BACKUP_AT": os.environ.get("BACKUP_AT", "02:30").strip(),
        "BACKUP_KEEP_DAILY": _int("BACKUP_KEEP_DAILY", 7),
        "BACKUP_KEEP_WEEKLY": _int("BACKUP_KEEP_WEEKLY", 4),
        "BACKUP_KEEP_MONTHLY": _int("BACKUP_KEEP_MONTHLY", 12),
        # PostgreSQL database the nightly verification restores into (owned by the owner role, PostGIS installed,
        # never the live one); empty: the nightly run does not verify (on SQLite a scratch file is used instead).
        "BACKUP_SCRATCH_DATABASE_URL": os.environ.get("BACKUP_SCRATCH_DATABASE_URL", "").strip(),
        # Hours after which the department's pages and /healthz/deep say the last backup is too old.
        "BACKUP_MAX_AGE_HOURS": _int("BACKUP_MAX_AGE_HOURS", 26),
        # Bearer token of /metrics and /healthz/deep for tools; empty: loopback only (and department staff for the page).
        "OPS_TOKEN": os.environ.get("OPS_TOKEN", "").strip(),
        # Below this many free megabytes on the instance/backup disks, /healthz/deep reports an error.
        "OPS_MIN_FREE_MB": _int("OPS_MIN_FREE_MB", 1024),
        # JSON log lines (one object per line, with the request id) instead of plain text.
        "LOG_JSON": os.environ.get("LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"},
        # Sentry (or GlitchTip) DSN: unhandled errors are reported there when set.
        "SENTRY_DSN": os.environ.get("SENTRY_DSN", "").strip(),
    }

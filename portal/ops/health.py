"""What ``/healthz/deep`` and the department's « Exploitation » page look at: database, Redis, worker heartbeat,
beat's last run, free disk, last backup. Each check answers ``{"status": "ok" | "warning" | "error", …}``."""
from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from ..extensions import db

HEARTBEAT_EVERY = 60  # seconds between two heartbeats sent by beat
STALE_AFTER = 3 * HEARTBEAT_EVERY


def redis_client():
    """A Redis client of REDIS_URL (one per app), or None on the embedded default."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("ops_redis")
    if client is None:
        import redis

        client = current_app.extensions["ops_redis"] = redis.Redis.from_url(url, socket_timeout=2,
                                                                            socket_connect_timeout=2)
    return client


def check_database() -> dict:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        return {"status": "error", "detail": f"unreachable: {exc.__class__.__name__}"}
    return {"status": "ok", "backend": db.engine.dialect.name, "ms": round((time.perf_counter() - started) * 1000, 1)}


def check_redis() -> dict:
    client = redis_client()
    if client is None:
        return {"status": "ok", "detail": "not used (tasks run in-process)"}
    try:
        client.ping()
        return {"status": "ok"}
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "detail": f"unreachable: {exc.__class__.__name__}"}


def _age_of(key: str) -> float | None:
    value = redis_client().get(key)
    return None if value is None else max(0.0, time.time() - float(value))


def check_heartbeats() -> tuple[dict, dict]:
    """The worker's last heartbeat and beat's last send of it."""
    from .tasks import BEAT_KEY, WORKER_KEY

    if redis_client() is None:
        same = {"status": "ok", "detail": "not used (tasks run in-process)"}
        return same, same
    out = []
    for key, name in ((WORKER_KEY, "worker"), (BEAT_KEY, "beat")):
        try:
            age = _age_of(key)
        except Exception as exc:  # noqa: BLE001
            out.append({"status": "error", "detail": f"Redis unreachable: {exc.__class__.__name__}"})
            continue
        if age is None:
            out.append({"status": "error", "detail": f"no {name} heartbeat in the last hour"})
        else:
            out.append({"status": "ok" if age <= STALE_AFTER else "error", "seconds_ago": round(age)})
    return out[0], out[1]


def check_disk() -> dict:
    from .backup import backup_dir

    minimum = int(current_app.config.get("OPS_MIN_FREE_MB") or 0) * 1024 * 1024
    disks = {}
    for label, path in (("instance", Path(current_app.instance_path)), ("backups", backup_dir())):
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        usage = shutil.disk_usage(probe)
        disks[label] = {"path": str(path), "free_mb": usage.free // (1024 * 1024),
                        "free_percent": round(100 * usage.free / usage.total, 1)}
    low = [label for label, d in disks.items() if d["free_mb"] * 1024 * 1024 < minimum]
    return {"status": "error" if low else "ok", **disks, **({"low": low} if low else {})}


def last_backup():
    """The newest successful backup run, the newest run of any outcome."""
    from .models import BackupRun

    ok = db.session.scalar(select(BackupRun).where(BackupRun.status.in_(("ok", "copy_failed")))
                           .order_by(BackupRun.id.desc()).limit(1))
    latest = db.session.scalar(select(BackupRun).order_by(BackupRun.id.desc()).limit(1))
    return ok, latest


def check_backup() -> dict:
    try:
        ok, latest = last_backup()
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        return {"status": "error", "detail": f"cannot read the backup runs: {exc.__class__.__name__}"}
    max_age = int(current_app.config.get("BACKUP_MAX_AGE_HOURS") or 26)
    if ok is None:
        return {"status": "warning", "detail": "no backup yet"}
    age_h = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - ok.finished_at).total_seconds() / 3600
    status = "ok"
    if age_h > max_age or ok.verification == "failed":
        status = "warning"
    if latest is not None and latest.status in ("failed", "copy_failed"):
        status = "warning"
    return {"status": status, "archive": ok.archive, "finished_at": ok.finished_at.isoformat() + "Z",
            "hours_ago": round(age_h, 1), "size": ok.size, "verification": ok.verification or "not verified",
            "last_run": latest.status if latest else None,
            **({"copy_error": latest.error} if latest is not None and latest.status == "copy_failed" else {})}


def deep() -> dict:
    worker, beat = check_heartbeats()
    checks = {"database": check_database(), "redis": check_redis(), "worker": worker, "beat": beat,
              "disk": check_disk(), "backup": check_backup()}
    states = {c["status"] for c in checks.values()}
    overall = "error" if "error" in states else ("warning" if "warning" in states else "ok")
    return {"status": overall, "checks": checks}

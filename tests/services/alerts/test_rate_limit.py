"""The send rate limit of a provider holds for all workers together: two limiters that share nothing in memory
(two threads, then two real processes) never send faster than the rate, through Redis when REDIS_URL is set (CI's
second run) and through the database otherwise. A limiter kept in each process's memory fails these checks: with two
workers it lets twice the rate through."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from .conftest import SAFETY, add_subscriber

ROOT = Path(__file__).resolve().parents[3]
RATE = 20.0  # sends per second, for both workers together
PER_WORKER = 10


def _limiter(app, name, rate=RATE, burst=1):
    from portal.extensions import db
    from services.alerts.sms import SharedRateLimiter

    return SharedRateLimiter(name, rate, burst=burst, redis_url=app.config.get("REDIS_URL") or "", engine=db.engine)


def _assert_rate(times: list[float], rate: float, burst: int = 1, slack: float = 0.75):
    """Sorted send times: no window of one second holds more than rate + burst sends, and the whole run lasted at
    least what the rate demands, less some slack for a loaded machine (a first send that leaves late shortens the
    measured span). Without a shared limit the span is far shorter: two workers at the rate each take half the
    time, a send without limit a few milliseconds."""
    times = sorted(times)
    need = (len(times) - burst) / rate
    assert times[-1] - times[0] >= need * slack, (times[-1] - times[0], need)
    for i, t in enumerate(times):
        in_window = sum(1 for u in times[i:] if u < t + 1.0)
        assert in_window <= rate + burst, (in_window, rate)


def test_two_workers_in_threads_share_the_rate(app, world):
    name = f"test-{uuid.uuid4().hex[:8]}"
    times: list[float] = []
    lock = threading.Lock()

    def worker():
        with app.app_context():
            limiter = _limiter(app, name)  # each worker its own limiter: nothing shared in memory
            for _ in range(PER_WORKER):
                limiter.acquire()
                with lock:
                    times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 2 * PER_WORKER
    _assert_rate(times, RATE)


def test_a_burst_is_allowed_then_the_rate(app, world):
    with app.app_context():
        limiter = _limiter(app, f"test-{uuid.uuid4().hex[:8]}", rate=2, burst=3)
        start = time.time()
        waits, slots = [], []
        for _ in range(6):
            before = time.time()
            waits.append(limiter.reserve())
            slots.append(before + waits[-1] - start)  # when each send may leave
    assert waits[:3] == [0.0, 0.0, 0.0]  # three leave at once
    for k, expected in ((3, 0.5), (4, 1.0), (5, 1.5)):  # then one every 0.5 s
        assert abs(slots[k] - expected) < 0.08, (k, slots)


WORKER = """
import json, sys, time
from sqlalchemy import create_engine
from services.alerts.sms import SharedRateLimiter
cfg = json.loads(sys.argv[1])
engine = create_engine(cfg["db"]) if not cfg["redis"] else None
limiter = SharedRateLimiter(cfg["name"], cfg["rate"], redis_url=cfg["redis"], engine=engine)
while time.time() < cfg["start"]:
    time.sleep(0.005)
out = []
for _ in range(cfg["n"]):
    limiter.acquire()
    out.append(time.time())
print(json.dumps(out))
"""


def test_two_worker_processes_share_the_rate(app, world):
    name = f"test-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        _limiter(app, name).reserve()  # the row exists (database backend) before the race
    cfg = {"db": app.config["SQLALCHEMY_DATABASE_URI"], "redis": app.config.get("REDIS_URL") or "", "name": name,
           "rate": RATE, "n": PER_WORKER, "start": time.time() + 4.0}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(cfg)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=ROOT, env=env) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()[-2000:]
        results.append(json.loads(out))
    assert all(min(r) >= cfg["start"] for r in results), "a worker started before the others were ready"
    _assert_rate(results[0] + results[1], RATE)


def test_sms_delivery_goes_through_the_shared_limiter(app, world, alerts_world, smtp, sms, login_as):
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for i in range(5):
        add_subscriber(app, insee, [safety], phone=f"+3361234570{i}")
    app.config["ALERTS_SMS_RATE"] = 10
    url = "/s/alerts/alertes/nouvelle"
    resp = login_as("mayor_a").post(url, {"title": "Crue", "body": "Montée des eaux.", "severity": "severe",
                                          "channels": "sms", "lists": str(safety), "send": "1"}, csrf_from=url)
    assert resp.status_code == 302
    assert len(sms.messages) == 5
    _assert_rate([m.at for m in sms.messages], 10, slack=0.6)


def test_database_backend_recreates_its_row(app, world):
    """Without Redis the slot lives in a row; a limiter that already used it survives the row's removal."""
    from sqlalchemy import delete, select

    from portal.extensions import db
    from services.alerts.models import RateLimit
    from services.alerts.sms import SharedRateLimiter

    name = f"test-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        limiter = SharedRateLimiter(name, 5, engine=db.engine)
        assert limiter.reserve() == 0.0
        assert db.session.scalar(select(RateLimit.tat).where(RateLimit.name == name)) > time.time()
        db.session.execute(delete(RateLimit).where(RateLimit.name == name))
        db.session.commit()
        assert limiter.reserve() == 0.0
        assert 0.1 < limiter.reserve() <= 0.2

"""gunicorn settings read from the current folder (gunicorn loads ./gunicorn.conf.py by itself); command-line options
override them.

Garbage collection: a worker holds some 190 000 long-lived objects once the portal is loaded (modules, the CPV
nomenclature, translations…). Python's full collections scan them all — over 100 ms on a small VM, landing in the
middle of a request now and then. Freezing them after start-up (``gc.freeze``) leaves collections only the objects
created by requests; it also keeps the pages of memory shared between workers untouched.
"""
import gc
import os

# Threads, not one process per request (gthread): a company uploading a 20 MB bid over a slow line holds one thread
# while its file is sealed as it arrives (services/tenders: the deposit streams), not a whole worker; the sealing
# (hashlib, AES-GCM) and the database run outside the GIL. A thread's request may take as long as its upload; the
# worker's heartbeat (timeout, set on the command line) is kept by the main thread. Overridable for a run:
# GUNICORN_WORKER_CLASS=sync, GUNICORN_THREADS.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))


def post_worker_init(worker):
    gc.collect()
    gc.freeze()


# --- Operations (portal/ops, docs/production.md) -------------------------------------------------------------------
# Prometheus multi-process mode: every worker writes its samples to PROMETHEUS_MULTIPROC_DIR and /metrics adds them
# up. The folder must exist before any worker imports prometheus_client, and start empty: it is set (a fresh
# temporary folder unless the service manager gives one, e.g. systemd's RuntimeDirectory) and emptied here, when the
# master reads this file, before the application is loaded.
import glob  # noqa: E402
import tempfile  # noqa: E402

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="extranet-metrics-")
if os.environ.get("_EXTRANET_METRICS_MASTER") != str(os.getpid()):  # once per master, not again on a reload (HUP)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.unlink(stale)
    os.environ["_EXTRANET_METRICS_MASTER"] = str(os.getpid())


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# JSON lines for gunicorn's own logs too when LOG_JSON is set (the portal's lines are JSON already): one format for
# the journal; the access line carries the request id nginx gave (X-Request-ID).
if os.environ.get("LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"}:
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s'
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.ops.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }

"""gunicorn settings read from the current folder (gunicorn loads ./gunicorn.conf.py by itself); command-line options
override them.

Garbage collection: a worker holds some 190 000 long-lived objects once the portal is loaded (modules, the CPV
nomenclature, translations…). Python's full collections scan them all — over 100 ms on a small VM, landing in the
middle of a request now and then. Freezing them after start-up (``gc.freeze``) leaves collections only the objects
created by requests; it also keeps the pages of memory shared between workers untouched.
"""
import gc


def post_worker_init(worker):
    gc.collect()
    gc.freeze()

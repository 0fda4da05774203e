"""pytest plugin: a test fails when the code or the test opens a path outside the repository.

A fresh clone has no ``../shared/`` beside it: whatever the product or its tests read must be in the repository
(``tests/data/``, the services' ``data/``). An audit hook (``sys.addaudithook``) sees every ``open``, ``os.listdir``
and ``os.scandir`` of Python code — the product's and the tests' — and records the paths that are neither in the
repository nor in the places Python and the system keep their own files (the interpreter and its packages, the
temporary folder, ``/usr``, ``/etc``…). An autouse fixture fails the test during which such a path was opened (paths
opened while collecting are reported by the first test). Loaded by ``tests/conftest.py`` (``pytest_plugins``).
"""
from __future__ import annotations

import os
import site
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
EVENTS = {"open", "os.listdir", "os.scandir"}
SYSTEM = ("/usr", "/etc", "/proc", "/sys", "/dev", "/lib", "/lib64", "/bin", "/sbin", "/var", "/run", "/opt", "/snap",
          "/nix")


def _allowed_roots() -> tuple[str, ...]:
    roots = {ROOT, sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir(), *SYSTEM}
    roots.update(site.getsitepackages() + [site.getusersitepackages()])
    roots.update(p for p in sysconfig.get_paths().values() if p)
    roots.update(os.path.realpath(r) for r in list(roots))
    return tuple(sorted(r.rstrip(os.sep) for r in roots if r))


ALLOWED = _allowed_roots()
PARENT = os.path.dirname(ROOT)
# Beside the repository (``../shared/`` above all) is outside even when the clone itself lies in a folder allowed for
# Python's or the system's files (a clone in /tmp/somewhere/): everything of the parent folder, or only its
# ``shared`` when the parent is such a folder itself (/tmp, /opt…), whose other files are the system's.
BESIDE = os.path.join(PARENT, "shared") if PARENT.rstrip(os.sep) in ALLOWED or PARENT == os.sep else PARENT


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
_found: list[tuple[str, str]] = []
_lock = threading.Lock()


def is_outside(path: str) -> bool:
    """True for a path neither in the repository nor where Python and the system keep their own files."""
    path = os.path.abspath(path)
    if _under(path, ROOT):
        return False
    if _under(path, BESIDE):
        return True
    return not any(_under(path, root) for root in ALLOWED)


def _hook(event: str, args: tuple) -> None:
    if event not in EVENTS or not args:
        return
    path = args[0]
    if path is None or isinstance(path, int):
        return
    try:
        path = os.fsdecode(path)
    except TypeError:
        return
    if is_outside(path):
        with _lock:
            _found.append((event, os.path.abspath(path)))


sys.addaudithook(_hook)  # hooks cannot be removed: it stays for the whole run, and only records


def take() -> list[tuple[str, str]]:
    """The paths outside the repository opened since the last call (and forget them)."""
    with _lock:
        found = list(dict.fromkeys(_found))
        _found.clear()
    return found


@pytest.fixture(autouse=True)
def _nothing_opened_outside_the_repository():
    yield
    found = take()
    if found:
        pytest.fail("opened outside the repository (copy what is needed into it, e.g. tests/data/ with its source "
                    "and licence):\n" + "\n".join(f"  {event} {path}" for event, path in found), pytrace=False)

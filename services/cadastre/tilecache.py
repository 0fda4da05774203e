"""Vector tiles kept in memory per plan vintage.

Cadastral geometry changes only when a plan is imported, so a tile is computed once per territory and *plan
version* — the newest vintage id and the number of current vintages the territory sees (one small indexed query,
under the tenancy filter like every read) — and served from memory afterwards. The version is also the tile's
``ETag``: a browser that sends it back gets 304 without a body.

The version a process read is trusted for ``VERSION_SECONDS`` (per territory), so a tile found in the cache costs no
database read at all. A new import therefore reaches the tiles:

- in the process that imported (the CLI, a worker, the web process of an inline upload): at once — the importer
  calls :func:`plan_changed` after its commit;
- in every other process, on this host or another: within ``VERSION_SECONDS``, when the version is read again and
  is found changed (the next request then misses and computes the new tile; old entries age out of the LRU).

That delay is a small fraction of the five minutes a browser keeps a tile (``Cache-Control: private, max-age=300``)
before asking again. A version read is only a freshness hint: a tile is always computed under the request's own
territory (ORM filter and row-level security) and only ever served to that territory (it is part of the key).

Each process (gunicorn worker) keeps its own cache, per application, bounded in bytes (``CADASTRE_TILE_CACHE_MB``;
0 keeps nothing: every tile is computed, as on a miss — ``bench/cadastre.py`` measures cold tiles that way). The gate
runs before the view as always: the grant or the session is checked on every request, cached or not.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.settings import setting
from portal.tenancy import current_territory

from . import spatial
from .models import Vintage

VERSION_SECONDS = 5.0  # how long a process trusts the plan version it read for a territory
_MAX_TERRITORIES = 4096  # versions remembered per process (one per collectivity territory in practice)


class TileCache:
    """A thread-safe LRU of tile bytes, bounded by their total size, and the plan versions read per territory."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._versions: dict[tuple, tuple[tuple[int, int], float]] = {}
        self.hits = self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._data.get(key)
            if data is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: tuple, data: bytes) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes and self._data:
                _old, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped)

    def version(self, territory: tuple) -> tuple[int, int]:
        """The territory's plan version: the one read less than ``VERSION_SECONDS`` ago, else read now."""
        known = self._versions.get(territory)
        now = time.monotonic()
        if known is not None and now - known[1] < VERSION_SECONDS:
            return known[0]
        version = read_plan_version()
        if len(self._versions) >= _MAX_TERRITORIES:
            self._versions.clear()
        self._versions[territory] = (version, now)
        return version

    def forget_versions(self) -> None:
        self._versions.clear()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
        self.forget_versions()


def tile_cache() -> TileCache:
    """The cache of the current application (each app — a test's, a worker's — has its own)."""
    cache = current_app.extensions.get("cadastre_tiles")
    if cache is None:
        megabytes = float(setting("CADASTRE_TILE_CACHE_MB"))
        cache = current_app.extensions.setdefault("cadastre_tiles", TileCache(int(megabytes * 1024 * 1024)))
    return cache


def read_plan_version() -> tuple[int, int]:
    """(newest vintage id, number of current vintages) of the plans the territory sees."""
    newest, current = db.session.execute(select(func.max(Vintage.id), func.count(Vintage.id).filter(
        Vintage.current.is_(True)))).one()
    return int(newest or 0), int(current or 0)


def plan_changed() -> None:
    """Called after a plan is committed: this process reads the plan versions again at the next tile."""
    tile_cache().forget_versions()


def cached_tile(z: int, x: int, y: int) -> tuple[bytes, str]:
    """The tile's bytes (empty when nothing of the territory lies in it) and its ETag."""
    cache = tile_cache()
    seen = current_territory()  # None: every commune (system context), never confused with an empty territory
    territory = ("*",) if seen is None else tuple(sorted(seen))
    key = (territory, cache.version(territory), z, x, y)
    etag = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    data = cache.get(key)
    if data is None:
        data = spatial.tile(z, x, y)
        cache.put(key, data)
    return data, etag

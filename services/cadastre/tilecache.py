"""Vector tiles kept in memory per plan vintage.

Cadastral geometry changes only when a plan is imported, so a tile is computed once per territory and *plan
version* — the newest vintage id and the number of current vintages the territory sees (one small indexed query per
request, under the tenancy filter like every read) — and served from memory afterwards. A new vintage changes the
version, so the next request misses and computes the new tile; entries of old versions age out of the LRU. The
version is also the tile's ``ETag``: a browser that sends it back gets 304 without a body.

Each process (gunicorn worker) keeps its own cache, bounded in bytes. The gate runs before the view as always: the
grant or the session is checked on every request, cached or not; a cached tile is only ever served to the
territory it was computed for (the territory is part of the key).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from sqlalchemy import func, select

from portal.extensions import db
from portal.tenancy import current_territory

from . import spatial
from .models import Vintage

MAX_BYTES = 64 * 1024 * 1024


class TileCache:
    """A thread-safe LRU of tile bytes, bounded by their total size."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
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

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


cache = TileCache()


def plan_version() -> tuple[int, int]:
    """(newest vintage id, number of current vintages) of the plans the territory sees."""
    newest, current = db.session.execute(select(func.max(Vintage.id), func.count(Vintage.id).filter(
        Vintage.current.is_(True)))).one()
    return int(newest or 0), int(current or 0)


def cached_tile(z: int, x: int, y: int) -> tuple[bytes, str]:
    """The tile's bytes (empty when nothing of the territory lies in it) and its ETag."""
    territory = tuple(sorted(current_territory() or ()))
    key = (territory, plan_version(), z, x, y)
    etag = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    data = cache.get(key)
    if data is None:
        data = spatial.tile(z, x, y)
        cache.put(key, data)
    return data, etag

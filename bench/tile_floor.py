"""The floor under bench/cadastre.py's tile measure (PostgreSQL): a minimal Flask app on the same gunicorn, sending
the service's tile statement from one psycopg connection per worker — no authentication, no portal, no SQLAlchemy.
What it adds to the bare statement is what any Flask service behind gunicorn pays, before the portal does anything.

    TILE_FLOOR_DSN=postgresql://… TILE_FLOOR_INSEE=90175 gunicorn -w 2 bench.tile_floor:app

``bench.tile_floor:plain`` is the same without Flask: a bare WSGI callable, for what a tile endpoint outside any web
framework would cost.
"""
from __future__ import annotations

import os

import psycopg
from flask import Flask, Response

from services.cadastre.spatial import tile_query

app = Flask(__name__)
_conn: psycopg.Connection | None = None


def in_tile_transaction(conn: psycopg.Connection, insee: str, sql: str, params: dict):
    """One tile's transaction as the service needs it — territory setting, the statement, commit — on a plain psycopg
    connection; → the statement's value. bench/cadastre.py times the bare query with it too, so the floor and the
    bare measure send the same thing."""
    conn.execute("SELECT set_config('app.territory', %s, true)", (insee,))
    value = conn.execute(sql, params).fetchone()[0]
    conn.commit()
    return value


@app.get("/tiles/<int:z>/<int:x>/<int:y>.pbf")
def tile(z: int, x: int, y: int):
    global _conn
    if _conn is None:  # one connection per worker, opened after the fork
        _conn = psycopg.connect(os.environ["TILE_FLOOR_DSN"])
    insee = os.environ["TILE_FLOOR_INSEE"]
    data = in_tile_transaction(_conn, insee, *tile_query(z, x, y, {insee}))
    return Response(bytes(data or b""), mimetype="application/vnd.mapbox-vector-tile")


def plain(environ, start_response):
    """The same tile behind a bare WSGI callable (no Flask, no routing library): /tiles/{z}/{x}/{y}.pbf."""
    global _conn
    try:
        z, x, y = (int(part) for part in environ["PATH_INFO"].removeprefix("/tiles/").removesuffix(".pbf").split("/"))
    except ValueError:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    if _conn is None:
        _conn = psycopg.connect(os.environ["TILE_FLOOR_DSN"])
    insee = os.environ["TILE_FLOOR_INSEE"]
    data = bytes(in_tile_transaction(_conn, insee, *tile_query(z, x, y, {insee})) or b"")
    start_response("200 OK", [("Content-Type", "application/vnd.mapbox-vector-tile"),
                              ("Content-Length", str(len(data)))])
    return [data]

"""The floor under bench/portal.py: a minimal Flask app on the same gunicorn that, for each page, sends the very
statements the portal sent for it (captured at the driver, territory setting included) on one psycopg connection
per worker as the same non-superuser role, and answers the same HTML bytes — no session, no sign-in, no portal
hooks, no ORM, no template rendering (the profiler breakdown of bench/portal.py gives the template's share).

    PORTAL_FLOOR_CAPTURE=/tmp/capture.pickle PORTAL_FLOOR_DSN=postgresql://… gunicorn -w 2 bench.portal_floor:app
"""
from __future__ import annotations

import os
import pickle

import psycopg
from flask import Flask, Response, request

app = Flask(__name__)
_conn: psycopg.Connection | None = None
_pages: dict | None = None


def _replay(path: str) -> Response:
    global _conn, _pages
    if _pages is None:
        with open(os.environ["PORTAL_FLOOR_CAPTURE"], "rb") as f:
            _pages = pickle.load(f)
    if _conn is None:  # one connection per worker, opened after the fork
        _conn = psycopg.connect(os.environ["PORTAL_FLOOR_DSN"])
    page = _pages[path]
    for sql, params in page["statements"]:
        cur = _conn.execute(sql, params)
        if cur.description is not None:
            cur.fetchall()
    _conn.commit()
    return Response(page["body"], status=page["status"], content_type=page["content_type"])


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def page(path: str):
    query = request.query_string.decode()  # the search pages are captured with their query
    return _replay("/" + path + (f"?{query}" if query else ""))

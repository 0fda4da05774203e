"""The floor under bench/portal.py: a minimal Flask app on the same gunicorn that, for each page, sends the very
statements the portal sent for it (captured at the driver, territory setting included) on one psycopg connection
per worker as the same non-superuser role, and renders the page's same Jinja templates with the same data — no
session, no sign-in, no portal hooks, no ORM.

What the floor renders: the templates the portal rendered for the page (captured at Flask's ``template_rendered``
signal, in order; a page whose panels are rendered apart renders each), from the same template folders, through
this app's own Jinja environment with Flask-Babel (French, the same catalogs), Flask's ``url_for`` over the portal's
URL rules (each pointing at the replay view here), and the same custom filters (the portal's formatting functions,
imported by name). The data is plain: what the template read of each object of the portal's context — attributes,
items, text, truth, length, iteration — as :class:`Plain` values, lists and dicts; what it called (``csrf_token()``,
the services' menu, a form field's widget) as :class:`Calls`, a table of the answers given at capture. Pages rendered
by no template (JSON) answer the captured bytes.

    PORTAL_FLOOR_CAPTURE=/tmp/capture.pickle PORTAL_FLOOR_DSN=postgresql://… gunicorn -w 2 bench.portal_floor:app
"""
from __future__ import annotations

import importlib
import os
import pickle

import psycopg
from flask import Flask, Response, render_template, request


class Plain:
    """An object as the template read it: attributes (``__dict__``), and when the template used them, its items,
    text, HTML, truth and length."""

    def __init__(self, attrs=None, items=None, text=None, html=None, truth=True, length=None, iteration=None,
                 calls=None):
        self.__dict__.update(attrs or {})
        self._plain = (items, text, html, truth, length, iteration, calls)

    def __call__(self, *args, **kwargs):
        if self._plain[6] is None:
            raise TypeError("not callable")
        return self._plain[6][_call_key(args, kwargs)]

    def __iter__(self):
        if self._plain[5] is None:
            raise TypeError("not iterable")
        return iter(self._plain[5])

    def __getitem__(self, key):
        items = self._plain[0]
        if items is None:
            raise TypeError("not subscriptable")
        return items[key]

    def __str__(self):
        return self._plain[1] if self._plain[1] is not None else ""

    def __bool__(self):
        return self._plain[3]

    def __len__(self):
        if self._plain[4] is None:
            raise TypeError("no length")
        return self._plain[4]

    def __getattr__(self, name):  # only reached for names not in __dict__
        if name == "__html__" and self._plain[2] is not None:
            return lambda: self._plain[2]
        raise AttributeError(name)


class Calls:
    """A function the template called: the answers given at capture, by arguments."""

    def __init__(self, answers: dict):
        self.answers = answers

    def __call__(self, *args, **kwargs):
        return self.answers[_call_key(args, kwargs)]


def _call_key(args, kwargs) -> str:
    """The arguments of a call as text, an object (recorded at capture, plain here) as « <obj> »."""
    def text(x):
        if isinstance(x, (str, bytes, int, float, bool, type(None))):
            return repr(x)
        if isinstance(x, (list, tuple)):
            return "[" + ",".join(map(text, x)) + "]"
        if type(x) is dict:
            return "{" + ",".join(f"{text(k)}:{text(v)}" for k, v in x.items()) + "}"
        return "<obj>" if isinstance(x, Plain) or type(x).__name__ == "Recorded" else repr(x)

    return text(list(args)) + text(dict(sorted(kwargs.items())))


app = Flask(__name__, static_folder=None)  # the portal's static rule is added with the others
_conn: psycopg.Connection | None = None
_pages: dict | None = None


def _configure(capture: dict) -> None:
    """Rules, template folders, translations and filters of the capture (loaded once per worker, before any
    request)."""
    from flask_babel import Babel
    from jinja2 import ChoiceLoader, FileSystemLoader

    setup = capture["__setup__"]
    for rule, endpoint, methods in setup["rules"]:
        app.add_url_rule(rule, endpoint, _replay_view, methods=methods)
    app.jinja_loader  # noqa: B018 - the property is replaced below
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(folder) for folder in setup["template_folders"]])
    Babel(app, default_locale=setup["locale"], default_timezone=setup["timezone"],
          default_translation_directories=";".join(setup["translation_folders"]))
    for name, (module, qualname) in setup["filters"].items():
        if name not in app.jinja_env.filters:
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            app.jinja_env.filters[name] = target


def _load() -> dict:
    global _pages
    if _pages is None:
        with open(os.environ["PORTAL_FLOOR_CAPTURE"], "rb") as f:
            _pages = pickle.load(f)
        _configure(_pages)
    return _pages


def _replay_view(**_):
    global _conn
    if _conn is None:  # one connection per worker, opened after the fork
        _conn = psycopg.connect(os.environ["PORTAL_FLOOR_DSN"])
    query = request.query_string.decode()  # the search pages are captured with their query
    page = _pages[request.path + (f"?{query}" if query else "")]
    for sql, params in page["statements"]:
        cur = _conn.execute(sql, params)
        if cur.description is not None:
            cur.fetchall()
    _conn.commit()
    body = page["body"]
    for name, context in page.get("renders", ()):
        body = render_template(name, **context)
    return Response(body, status=page["status"], content_type=page["content_type"])


_load() if os.environ.get("PORTAL_FLOOR_CAPTURE") else None

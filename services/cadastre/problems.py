"""Messages of the imports: English in the CLI and the logs, French on the department's import page.

A :class:`Problem` IS the English text (a ``str``: the CLI prints it, tests compare it) and also keeps its msgid
and parameters, so the page translates it with the same msgid (``N_`` marks the msgids for extraction, Babel's
default keyword). Parameters may themselves be problems or lists of problems (a line's several errors); they are
translated too. A problem goes through JSON (the import job row) with :meth:`as_dict` / :func:`from_dict`.
"""
from __future__ import annotations


def _render(value, translate):
    if isinstance(value, Problem):
        return value.translated() if translate else str(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(_render(v, translate) for v in value)
    return value


class ImportFailed(Exception):
    """An import refused, with one message per problem (nothing was written)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class Problem(str):
    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params):
        text = msgid % {k: _render(v, False) for k, v in params.items()} if params else msgid
        obj = super().__new__(cls, text)
        obj.msgid = msgid
        obj.params = params
        return obj

    def translated(self) -> str:
        from flask_babel import gettext

        values = {k: _render(v, True) for k, v in self.params.items()}
        return gettext(self.msgid, **values) if values else gettext(self.msgid)

    def as_dict(self) -> dict:
        def enc(v):
            if isinstance(v, Problem):
                return v.as_dict()
            if isinstance(v, (list, tuple)):
                return [enc(x) for x in v]
            return v

        return {"msgid": self.msgid, "params": {k: enc(v) for k, v in self.params.items()}}

    def __reduce__(self):  # pickling (Celery results, multiprocessing) keeps the msgid
        return (_rebuild, (self.as_dict(),))


def N_(msgid: str, **params) -> Problem:  # noqa: N802 - Babel's default marking keyword
    return Problem(msgid, **params)


def from_dict(data) -> Problem | str:
    """The problem stored by :meth:`Problem.as_dict` (a plain string stays a string)."""
    if not isinstance(data, dict):
        return str(data)
    if not data.get("msgid"):
        return str(data.get("text", ""))

    def dec(v):
        if isinstance(v, dict) and "msgid" in v:
            return from_dict(v)
        if isinstance(v, list):
            return [dec(x) for x in v]
        return v

    return Problem(data["msgid"], **{k: dec(v) for k, v in (data.get("params") or {}).items()})


def _rebuild(data):
    return from_dict(data)


def as_dict(problem) -> dict:
    return problem.as_dict() if isinstance(problem, Problem) else {"msgid": None, "text": str(problem)}


def translated(problem) -> str:
    return problem.translated() if isinstance(problem, Problem) else str(problem)

"""The shared cross-territory check (DESIGN.md §6): every registered route × a signed-in user of one territory ×
the ids of another territory's objects → 4xx and none of the foreign data in the body.

A service test suite calls :func:`check_routes` with its own foreign ids and markers. A route whose URL parameter
has no value in ``foreign_ids`` makes the check fail: a new route cannot escape it silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REFUSED = {400, 401, 403, 404, 405, 410}


@dataclass
class Finding:
    rule: str
    method: str
    url: str
    status: int
    problem: str


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def assert_clean(self):
        assert not self.findings, "cross-territory leaks:\n" + "\n".join(
            f"  {f.method} {f.url} ({f.rule}) → {f.status}: {f.problem}" for f in self.findings)
        assert self.checked, "no route was checked"


PUBLIC_PREFIXES = ("/p/",)


def _routes(app, prefixes, exclude):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/static") or rule.endpoint.endswith(".static"):
            continue
        if prefixes and not rule.rule.startswith(tuple(prefixes)):
            continue
        if exclude and rule.rule.startswith(tuple(exclude)):
            continue
        yield rule


def check_routes(client, app, foreign_ids: dict[str, object], markers: list[str], *, prefixes=None, exclude=None,
                 skip_endpoints: frozenset[str] = frozenset({"auth.logout"}), own_ok_without_params: bool = True) -> Report:
    """Request every route (under ``prefixes``, not under ``exclude``) as ``client`` with ``foreign_ids`` in its
    parameters.

    - routes with parameters must answer 4xx (for every method they accept) and never show a marker;
    - routes without parameters, and public pages (``/p/…``, open to anyone by design), may answer 2xx/3xx but must
      never show a marker (foreign personal data).
    Unsafe methods are sent with the session's CSRF token, so a refusal is the territory rule, not CSRF.
    """
    report = Report()
    token = client.csrf("/profil")
    for rule in _routes(app, prefixes, exclude):
        if rule.endpoint in skip_endpoints:
            continue
        missing = [a for a in rule.arguments if a not in foreign_ids]
        if missing:
            report.findings.append(Finding(rule.rule, "-", "-", 0, f"no foreign value for parameter(s) {missing}"))
            continue
        values = {a: foreign_ids[a] for a in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values, _external=False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                resp = client.http.get(url)
            else:
                resp = client.http.open(url, method=method, data={"csrf_token": token, "title": "x",
                                                                  "commune_insee": "00000"})
            body = resp.get_data().decode("utf-8", errors="replace")  # PDFs, zips: still searched for markers
            report.checked.append(f"{method} {url}")
            leaked = [m for m in markers if m and m in body]
            if leaked:
                report.findings.append(Finding(rule.rule, method, url, resp.status_code, f"body shows {leaked}"))
            elif resp.status_code == 204 and not body:
                pass  # No Content (an empty map tile): nothing shown, as a refusal shows nothing
            elif rule.arguments and resp.status_code not in REFUSED and not rule.rule.startswith(PUBLIC_PREFIXES):
                if not (resp.status_code == 302 and own_ok_without_params and _redirects_to_login(resp)):
                    report.findings.append(Finding(rule.rule, method, url, resp.status_code,
                                                   "answered instead of refusing"))
    return report


def _redirects_to_login(resp) -> bool:
    return "/connexion" in resp.headers.get("Location", "")


def check_department_matrix(app, clients: dict, objects: dict, **kwargs) -> Report:
    """The department × department matrix (DESIGN.md §8): the staff of each département (or intercommunal operator)
    in ``clients`` (name → signed-in client) over every route, with the ids and markers of every *other* one's
    objects in ``objects`` (name → (foreign_ids, markers)). Keyword arguments go to :func:`check_routes`."""
    merged = Report()
    for who, client in clients.items():
        for whose, (ids, markers) in objects.items():
            if whose == who:
                continue
            report = check_routes(client, app, ids, markers, **kwargs)
            merged.checked += [f"{who} → {whose}: {c}" for c in report.checked]
            merged.findings += [Finding(f.rule, f.method, f.url, f.status, f"{who} → {whose}: {f.problem}")
                                for f in report.findings]
    return merged

"""The audit journal speaks French: every action recorded anywhere in the code has a label, every detail key too,
the filter lists every action, and what acted without an account is named (« le Département », « un habitant »,
« tâche automatique »). Also: a second mayor's account warns the department, « Service activé » names the service."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
RECORD_KEYWORDS = {"target", "target_type", "target_id", "collectivity", "purpose", "user"}
HIDDEN_DETAILS = {"before"}  # kept for the record, not shown by the journal (portal/templates/_macros.html)
# Services whose labels arrive with their own restructuring (their descriptors' audit_labels). Remove a name once
# its test passes: the xfail then shows as XPASS.
PENDING: dict[str, str] = {}
PENDING_DETAILS: dict[str, str] = {}


def _owners() -> list[str]:
    return ["portal"] + sorted(p.name for p in (ROOT / "services").iterdir()
                               if (p / "__init__.py").is_file() and not p.name.startswith("_"))


def _literals(node) -> list[str]:
    """The action names an expression may give: a literal, or the literals of a conditional expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _recorded(owner: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Actions and detail keys of every ``audit.record(...)`` call in the owner's source: name → where."""
    folder = ROOT / "portal" if owner == "portal" else ROOT / "services" / owner
    actions: dict[str, list[str]] = {}
    details: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit" and node.args):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            names = _literals(node.args[0])
            assert names, f"{where}: the action of audit.record must be a literal (or literals in a conditional)"
            for name in names:
                actions.setdefault(name, []).append(where)
            for kw in node.keywords:
                if kw.arg and kw.arg not in RECORD_KEYWORDS | HIDDEN_DETAILS:
                    details.setdefault(kw.arg, []).append(where)
    return actions, details


def _params(pending=PENDING):
    return [pytest.param(o, marks=pytest.mark.xfail(reason=pending[o], strict=False)) if o in pending else o
            for o in _owners()]


@pytest.mark.parametrize("owner", _params())
def test_every_recorded_action_has_a_french_label(app, owner):
    from flask_babel import force_locale

    from portal.audit import ACTION_LABELS

    actions, _details = _recorded(owner)
    assert actions or owner != "portal"
    with app.test_request_context(), force_locale("fr"):
        missing = sorted(f"{a}  ({', '.join(where)})" for a, where in actions.items()
                         if a not in ACTION_LABELS or str(ACTION_LABELS[a]) == a)
    assert not missing, (f"{len(missing)} action(s) of {owner} have no label in the journal — add them to "
                         "ServiceDescriptor.audit_labels (portal: portal/audit.py ACTION_LABELS):\n  "
                         + "\n  ".join(missing))


@pytest.mark.parametrize("owner", _params(PENDING_DETAILS))
def test_every_recorded_detail_key_has_a_french_label(app, owner):
    from portal.audit import DETAIL_LABELS

    _actions, details = _recorded(owner)
    missing = sorted(f"{k}  ({', '.join(where[:3])})" for k, where in details.items() if k not in DETAIL_LABELS)
    assert not missing, (f"{len(missing)} detail key(s) of {owner} have no label — add them to "
                         "ServiceDescriptor.audit_detail_labels (portal: DETAIL_LABELS):\n  " + "\n  ".join(missing))


def test_the_journal_filter_lists_every_labelled_action(app, world, login_as):
    from portal.audit import ACTION_LABELS

    page = login_as("dept_admin").get("/admin/journal").get_data(as_text=True)
    absent = [a for a in ACTION_LABELS if f'<option value="{a}"' not in page]
    assert not absent, absent
    for owner in _owners():
        if owner not in PENDING:
            assert all(f'<option value="{a}"' in page for a in _recorded(owner)[0]), owner


def test_what_acted_without_an_account_is_named_in_the_journal(app, world, login_as):
    import click

    from portal import audit
    from portal.extensions import db
    from portal.models import AuditEvent, Collectivity

    with app.app_context():
        coll = db.session.get(Collectivity, world.a)
        audit.record("service.disabled", collectivity=coll, service="sample")  # a Celery task: no request
        with click.Context(click.Command("demo")):  # a command an operator runs
            audit.record("service.enabled", collectivity=coll, service="sample")
        db.session.commit()
    with app.test_request_context(f"/p/sample/{world.insee_a}"):  # a resident on a public page
        audit.record("member.removed", collectivity=db.session.get(Collectivity, world.a), email="x@example.org")
        db.session.commit()
    with app.app_context():
        actors = [e.actor for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()[:3]]
    assert actors == ["system:resident", "system:department", "system:task"]
    page = login_as("mayor_a").get("/mairie/journal").get_data(as_text=True)
    for shown in ("<td>un habitant</td>", "<td>le Département</td>", "<td>tâche automatique</td>"):
        assert shown in page
    assert "<td>system" not in page


def test_creating_a_second_mayor_account_warns_the_department(app, world, login_as, smtp):
    from portal.extensions import db
    from portal.models import AuditEvent

    admin = login_as("dept_admin")
    detail = f"/admin/collectivites/{world.a}"
    mayor = world.users["mayor_a"].email
    assert "a déjà 1 compte de maire" in admin.get(detail).get_data(as_text=True)
    resp = admin.post(f"{detail}/premier-compte", {"email": "nouveau.maire@example.org", "full_name": "Lucie Brun"},
                      csrf_from=detail)
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"avait déjà un compte de maire ({mayor})" in page
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == "account.mayor_added" and event.details["other_mayors"] == [mayor]
    journal = admin.get("/admin/journal").get_data(as_text=True)
    row = journal[journal.index("nouveau.maire@example.org") - 600:journal.index("nouveau.maire@example.org")]
    assert "Compte d&#39;un autre maire créé" in row and "Premier compte créé" not in row


def test_service_enabled_says_which_service_in_the_journal(app, world, login_as):
    admin = login_as("dept_admin")
    detail = f"/admin/collectivites/{world.a}"
    admin.post(f"{detail}/services", {"service": "sample", "enabled": "y"}, csrf_from=detail)
    journal = admin.get("/admin/journal?quoi=service.enabled").get_data(as_text=True)
    assert "<b>service</b> Sample service" in journal

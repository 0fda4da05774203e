"""The tenders service's contract with the portal: every audit action has a French label declared in the descriptor,
and the layers import downwards (tasks, CLI and public pages never import a view module)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import services.tenders as package

ROOT = Path(package.__file__).parent


def _recorded_actions() -> set[str]:
    actions = set()
    for path in ROOT.rglob("*.py"):
        actions |= set(re.findall(r'audit\.record\(\s*"(tenders\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return actions


def test_every_tenders_audit_action_has_a_french_label_in_the_descriptor(app):
    from flask_babel import force_locale

    from portal import audit

    actions = _recorded_actions()
    assert len(actions) >= 10
    labels = package.service.audit_labels
    assert actions <= set(labels), sorted(actions - set(labels))
    with app.test_request_context(), force_locale("fr"):
        for action in actions:
            shown = audit.action_label(action)
            assert shown != action and shown.startswith("Marchés publics\u00a0: "), (action, shown)
        assert audit.detail_label("holder_siret") == "SIRET du titulaire"


def test_tasks_cli_and_public_pages_take_close_expired_from_operations():
    for name in ("tasks.py", "cli.py", "views/public.py"):
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        imported = {(node.module or "", alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        assert any(alias == "close_expired" and module.endswith("operations") for module, alias in imported), name
        assert not any(module.endswith(("views", "pages")) for module, _alias in imported), name
    source = (ROOT / "operations.py").read_text(encoding="utf-8")
    assert "flask import" not in source and "request" not in re.sub(r'""".*?"""', "", source, flags=re.S)


def test_templates_load_their_assets_in_the_head_block():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        content = text.split("{% block content %}", 1)[-1] if "{% block content %}" in text else ""
        assert "<link" not in content and "<script" not in content, path.name

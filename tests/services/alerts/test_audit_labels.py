"""Every action the alerts service records in the audit journal has a French label in its descriptor, and so has
every detail key it writes: the mairie's journal never shows a code."""
from __future__ import annotations

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[3] / "services" / "alerts"
ACTION = re.compile(r"""(?:audit\.record|_audit)\(\s*(?:session,\s*)?["'](alerts\.[a-z_]+)["']""")
DETAILS = re.compile(r"""audit\.record\(\s*["']alerts\.[a-z_]+["'](.*?)\)\n""", re.S)


def _recorded():
    actions, keys = set(), set()
    for source in SERVICE.rglob("*.py"):
        text = source.read_text()
        actions |= set(ACTION.findall(text))
        for args in DETAILS.findall(text):
            keys |= set(re.findall(r"\b([a-z_]+)=", args))
    return actions, keys - {"target", "target_type", "target_id", "collectivity", "user", "purpose"}


def test_every_audited_action_of_the_service_has_a_french_label(app):
    from flask_babel import force_locale

    from services.alerts import service

    actions, keys = _recorded()
    assert len(actions) >= 12 and "alerts.channel_invalid" in actions  # the walk finds them (it can fail)
    assert actions <= set(service.audit_labels), actions - set(service.audit_labels)
    assert keys <= set(service.audit_detail_labels), keys - set(service.audit_detail_labels)
    with app.test_request_context(), force_locale("fr"):
        for action in actions:
            label = str(service.audit_labels[action])
            assert label.startswith("Alerte citoyen") or label.startswith("Alertes"), (action, label)
        assert str(service.audit_detail_labels["recipients"]) == "destinataires"

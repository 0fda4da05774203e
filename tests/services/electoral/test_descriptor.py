"""The service's contract: every audit action it records has a French label, shown in the mayor's journal."""
from __future__ import annotations

import re
from pathlib import Path

import services.electoral as electoral

SOURCES = Path(electoral.__file__).parent


def test_every_electoral_audit_action_has_a_french_label_in_the_journal(elec, login_as):
    recorded = set()
    for path in SOURCES.rglob("*.py"):
        for call in re.findall(r"audit\.record\(([^,]+),", path.read_text()):
            recorded |= set(re.findall(r'"(electoral\.[a-z_]+)"', call))
    assert len(recorded) >= 28
    assert recorded <= set(electoral.service.audit_labels), recorded - set(electoral.service.audit_labels)
    mayor = login_as("mayor_a")
    assert mayor.get(f"/s/electoral/electeurs/{elec.voter_a}").status_code == 200
    journal = mayor.get("/mairie/journal").get_data(as_text=True)
    assert "electoral.voter_viewed" not in journal.split("<select")[0].split("</form>")[-1]
    assert "Fiche d&#39;électeur consultée" in journal or "Fiche d'électeur consultée" in journal

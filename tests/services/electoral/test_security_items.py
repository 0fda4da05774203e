"""Security items of the electoral rolls: mass removals by import, search texts in the department's journal, write
routes in support mode, formulas in the CSV export. Every person is FICTITIOUS."""
from __future__ import annotations

import csv
import html
import io

from sqlalchemy import select

from .test_import_export import count_voters, fictitious_rows, to_csv, upload
from .test_support_mode import REASON


def _import(c, rows):
    resp = upload(c, to_csv(rows))
    url = resp.headers["Location"]
    c.post(url + "/confirmer", {}, csrf_from=url)


def test_an_import_that_removes_every_voter_is_refused(app, world, subscribe, login_as):
    """A header-only file is refused with a French message; many removals need their number typed."""
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(60)
    _import(c, rows)
    assert count_voters(app) == 60
    # a header alone: refused before any preview, the roll untouched
    resp = upload(c, to_csv([]))
    page = html.unescape(c.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True))
    assert "aucune ligne d'électeur" in page and "ne vide jamais la liste" in page
    assert count_voters(app) == 60
    # 55 of 60 voters missing (a truncated file): a plain confirmation is not enough
    resp = upload(c, to_csv(rows[:5]))
    url = resp.headers["Location"]
    preview = c.get(url).get_data(as_text=True)
    assert "Électeurs à radier (absents du fichier)\xa0: 55" in preview and 'name="removals"' in preview
    refused = c.post(url + "/confirmer", {}, csrf_from=url, follow_redirects=True).get_data(as_text=True)
    # the refusal with its number, not the bare digits « 55 » (a token, an id or a time on the page may hold them)
    assert "Cet import radie 55 électeurs" in refused and count_voters(app) == 60
    wrong = c.post(url + "/confirmer", {"removals": "54"}, csrf_from=url)
    assert wrong.status_code == 302 and count_voters(app) == 60
    done = c.post(url + "/confirmer", {"removals": "55"}, csrf_from=url)
    assert done.status_code == 302 and count_voters(app) == 5
    # a few removals (below 10 % of the roll) keep the plain confirmation
    _import(c, rows[:6] + rows[5:8])
    resp = upload(c, to_csv(rows[:7]))
    url = resp.headers["Location"]
    assert 'name="removals"' not in c.get(url).get_data(as_text=True)


def test_department_journal_does_not_show_searched_names(app, world, subscribe, login_as, elec):
    from portal.extensions import db
    from portal.models import AuditEvent

    secretary = login_as("secretary_a")
    assert secretary.get("/s/electoral/?q=PERROT").status_code == 200
    with app.app_context():  # the page's search is kept, not only the API's (it was rolled back with the GET)
        searched = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "electoral.voters_searched")).all()
        assert len(searched) == 1 and searched[0].details.get("via") is None and searched[0].user_id is not None
    secretary.get("/api/v1/electoral/voters?q=PERROTAPI")
    journal = login_as("dept_admin").get("/admin/journal?action=electoral.voters_searched")
    assert journal.status_code == 200
    text = journal.get_data(as_text=True)
    assert "PERROT" not in text
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "electoral.voters_searched")).all()
        assert events and all("PERROT" not in str(e.details) for e in events)


def test_print_job_creation_is_refused_in_support_mode(app, world, login_as, elec):
    agent = login_as("dept_agent")
    assert agent.post(f"/assistance/ouvrir/{world.a}", {"reason": REASON, "duration": "15"},
                      csrf_from=f"/admin/collectivites/{world.a}").status_code == 302
    resp = agent.post("/s/electoral/impressions", {"kind": "emargement", "bureau": str(elec.bureau_a)},
                      csrf_from="/s/electoral/")
    assert resp.status_code == 403
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import PrintJob

    with app.app_context(), territory_scope({world.insee_a}):
        assert db.session.scalars(select(PrintJob)).all() == []
    assert login_as("elected_a").post("/s/electoral/impressions", {"kind": "emargement"},
                                      csrf_from="/s/electoral/").status_code == 403


def test_csv_export_neutralises_formulas(app, world, login_as, elec, add_voter):
    add_voter(world.insee_a, "=HYPERLINK(\"http://evil.example\";\"x\")", "+Jean", "1960-02-03", elec.bureau_a,
              usage_name="@SUM(A1)", street_name="-2+3")
    body = login_as("secretary_a").get("/s/electoral/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    row = next(r for r in rows if "HYPERLINK" in r["NomdeNaissance"])
    assert row["NomdeNaissance"].startswith("'=") and row["Prenoms"] == "'+Jean"
    assert row["NomDusage"] == "'@SUM(A1)" and row["LibelleVoie"] == "'-2+3"
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())

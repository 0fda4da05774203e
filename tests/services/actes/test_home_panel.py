"""The legality control's panel of the home page: its five lists (drafts waiting for the visa, acts waiting for the
signature, acts in error, letters of the préfecture to answer, listes des délibérations to publish), each in its
order and limited to eight, the active commune's only."""
from __future__ import annotations

import datetime as dt
import html

from tests.helpers.clock import legal_today

TODAY = legal_today()


def _rows(app, world):
    from portal.extensions import db
    from portal.models import utcnow
    from portal.tenancy import territory_scope
    from services.actes.models import Act, PrefectureReply, Seance, SeanceItem

    with app.app_context(), territory_scope(None):
        def act(cid, insee, number, subject, **kw):
            a = Act(collectivity_id=cid, commune_insee=insee, nature=1, matiere="7.1", number=number,
                    decision_date=kw.pop("decision_date", TODAY), subject=subject, **kw)
            db.session.add(a)
            return a

        for cid, insee, tag in ((world.a, world.insee_a, "A"), (world.b, world.insee_b, "B")):
            for i in range(10):  # ten drafts: the eight oldest decisions are shown, oldest first
                act(cid, insee, f"{tag}_V{i}", f"Projet {tag} numéro {i}", decision_date=TODAY - dt.timedelta(days=i))
            act(cid, insee, f"{tag}_S", f"À signer {tag}", visa_at=utcnow())
            act(cid, insee, f"{tag}_E", f"En erreur {tag}", status="error", status_reason=f"Classification {tag}")
            sent = act(cid, insee, f"{tag}_R", f"Avec courrier {tag}", status="acknowledged")
            db.session.flush()
            db.session.add(PrefectureReply(act_id=sent.id, commune_insee=insee, tdt_document_id=f"doc-{tag}",
                                           kind="courrier", received_on=TODAY, answer_due_on=TODAY + dt.timedelta(
                                               days=61 if tag == "A" else 62)))
            voted = act(cid, insee, f"{tag}_D", f"Délibération {tag}", status="acknowledged")
            seance = Seance(collectivity_id=cid, commune_insee=insee, held_on=TODAY - dt.timedelta(days=10))
            db.session.add(seance)
            db.session.flush()
            db.session.add(SeanceItem(seance_id=seance.id, act_id=voted.id, commune_insee=insee))
            # a séance without délibération has no list to publish
            db.session.add(Seance(collectivity_id=cid, commune_insee=insee, held_on=TODAY - dt.timedelta(days=20)))
        db.session.commit()


def test_the_panel_lists_the_active_communes_waiting_acts(app, actes_world, login_as):
    _rows(app, actes_world)
    page = html.unescape(login_as("mayor_a").get("/").get_data(as_text=True))
    panel = page[page.index('id="actes-panel"'):]
    panel = panel[:panel.index("</section>")]
    drafts = panel[panel.index("Brouillons en attente du visa"):]
    assert [f"A_V{i}" in drafts for i in range(10)] == [False, False] + [True] * 8  # the eight oldest decisions
    assert drafts.index("A_V9") < drafts.index("A_V2")
    assert "À signer A" in panel and "visé le " + TODAY.strftime("%d/%m/%Y") in panel
    assert "En erreur A" in panel and "Classification A" in panel
    assert "Avec courrier A" in panel and "avant le " + (TODAY + dt.timedelta(days=61)).strftime("%d/%m/%Y") in panel
    assert "avant le " + (TODAY - dt.timedelta(days=3)).strftime("%d/%m/%Y") in panel  # the séance's list, late
    assert "séance du " + (TODAY - dt.timedelta(days=10)).strftime("%d/%m/%Y") in panel
    assert "séance du " + (TODAY - dt.timedelta(days=20)).strftime("%d/%m/%Y") not in panel
    assert " B" not in panel and "B_" not in panel
    assert "avant le " + (TODAY + dt.timedelta(days=62)).strftime("%d/%m/%Y") not in panel
    # the other commune sees its own
    other = html.unescape(login_as("mayor_b").get("/").get_data(as_text=True))
    assert "À signer B" in other and "Avec courrier B" in other and "À signer A" not in other


def test_a_visa_given_late_in_the_evening_is_dated_by_the_legal_day_not_the_utc_one(app, actes_world, login_as):
    """A moment is stored in UTC; the panel and the act's page give its date in the département's time: a visa at
    23:30 UTC on 1 March (00:30 in Paris) was given on 2 March."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        act = Act(collectivity_id=actes_world.a, commune_insee=actes_world.insee_a, nature=1, matiere="7.1",
                  number="2026_NUIT", decision_date=dt.date(2026, 3, 1), subject="Visé après minuit",
                  visa_at=dt.datetime(2026, 3, 1, 23, 30))
        db.session.add(act)
        db.session.commit()
        act_id = act.id
    client = login_as("mayor_a")
    panel = html.unescape(client.get("/").get_data(as_text=True))
    assert "Visé après minuit" in panel and "visé le 02/03/2026" in panel and "01/03/2026" not in panel
    detail = html.unescape(client.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert "Visé le 02/03/2026" in detail

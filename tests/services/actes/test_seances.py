"""Séances of the council: members and votes declared by the mairie, délibérations deposited in a séance, the liste
des délibérations (PDF read back with pdftotext, published on the public page within a week, late warnings), the
procès-verbal (PDF checked, published once adopted at a later séance), the registre des délibérations (R2121-9:
numbered sheets, closing sheet, indexes; rendered to PNG), the VOTE_* columns of the SCDL export and the home page's
panel."""
from __future__ import annotations

import csv as csv_module
import datetime as dt
import html
import io
import json
import subprocess

from frictionless import Resource, Schema

from services.actes.publication import SCHEMA

from .fixtures import make_pdf
from .test_publication_api import _acknowledge
from tests.helpers.clock import legal_today

TODAY = legal_today()
VOTE_KEYS = ("VOTE_EFFECTIF", "VOTE_REEL", "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION")
MEMBERS = "Marie Curie\nJean Jaurès\nLouise Michel\nVictor Hugo\nGeorge Sand"


def _text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def _page(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _new_seance(client, held_on=TODAY, **over) -> int:
    values = {"held_on": held_on.isoformat(), "held_at": "20:30", "place": "Salle du conseil",
              "members_in_office": "7", "present": MEMBERS, "represented": "Émile Zola → Victor Hugo",
              "absent": "Olympe de Gouges", "secretary": "Louise Michel"}
    values.update(over)
    resp = client.post("/s/actes/seances/nouvelle", values, csrf_from="/s/actes/seances/nouvelle")
    assert resp.status_code == 302, _page(resp)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _audit(app) -> list[str]:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("actes.%"))
                                       .order_by(AuditEvent.id)))


def test_seance_form_refuses_inconsistent_members_with_french_messages(app, actes_world, login_as):
    secretary = login_as("secretary_a")
    cases = [({"represented": "Émile Zola → Inconnu"}, "n'est pas parmi les membres présents"),
             ({"members_in_office": "3"}, "plus que les 3 membres en exercice"),
             ({"represented": "Émile Zola"}, "qui détient le pouvoir de Émile Zola"),
             ({"held_on": ""}, "Indiquez la date de la séance"),
             ({"secretary": "Quelqu'un d'autre"}, "secrétaire de séance doit être l'un des membres présents"),
             ({"held_at": "25:99"}, "s'écrit comme 20:30"),
             ({"absent": "Marie Curie"}, "Marie Curie est déclaré deux fois")]
    for over, message in cases:
        values = {"held_on": TODAY.isoformat(), "members_in_office": "7", "present": MEMBERS,
                  "represented": "Émile Zola → Victor Hugo", "secretary": "Louise Michel", **over}
        resp = secretary.post("/s/actes/seances/nouvelle", values, csrf_from="/s/actes/seances/nouvelle")
        assert resp.status_code == 422 and message in _page(resp), (over, _page(resp)[:3000])
    assert "actes.seance_created" not in _audit(app)


def test_deliberation_deposited_in_a_seance_list_published_and_in_open_data(app, actes_world, login_as, deposit,
                                                                              tmp_path):
    secretary = login_as("secretary_a")
    seance_id = _new_seance(secretary)
    form = _page(secretary.get(f"/s/actes/nouveau?seance={seance_id}"))
    assert 'id="seance_id"' in form and f'<option value="{seance_id}" selected' in form

    # A vote with more ballots than members present or represented (5 + 1) is refused, nothing is written.
    resp = deposit(secretary, seance_id=str(seance_id), votes_for="5", votes_against="1", abstentions="1")
    assert resp.status_code == 422 and "plus que les 6 membres présents ou représentés" in _page(resp)
    # A délibération rejected with more votes for than against is refused too.
    resp = deposit(secretary, seance_id=str(seance_id), votes_for="4", votes_against="1", result="rejected")
    assert resp.status_code == 422 and "plus de voix pour que contre est adoptée" in _page(resp)
    assert "actes.act_created" not in _audit(app)

    resp = deposit(secretary, seance_id=str(seance_id), votes_for="5", votes_against="0", abstentions="1")
    assert resp.status_code == 302, _page(resp)
    act_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp = deposit(secretary, number="2026_015", subject="Tarifs de la cantine", seance_id=str(seance_id),
                   votes_for="2", votes_against="3", abstentions="1", result="rejected")
    assert resp.status_code == 302
    page = _page(secretary.get(f"/s/actes/{act_id}"))
    assert "5 pour, 0 contre, 1 abstentions — adoptée" in page

    page = _page(secretary.get(f"/s/actes/seances/{seance_id}"))
    assert "Vote du budget primitif 2026" in page and "Tarifs de la cantine" in page and "rejetée" in page
    deadline = (TODAY + dt.timedelta(days=7)).strftime("%d/%m/%Y")
    assert f"À publier au plus tard le {deadline}" in page

    preview = secretary.get(f"/s/actes/seances/{seance_id}/liste.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    text = _text(preview.get_data())
    assert "Liste des délibérations examinées en séance du " + TODAY.strftime("%d/%m/%Y") in text
    assert "Vote du budget primitif 2026" in text and "Adoptée" in text and "Rejetée" in text
    assert "Ailleville" in text and "Secrétaire de séance" in text and "Louise Michel" in text

    # Not on the public page before publication.
    public = login_as("mayor_b")
    assert "Liste des délibérations du" not in _page(public.get(f"/p/actes/{actes_world.insee_a}/"))
    assert public.get(f"/p/actes/{actes_world.insee_a}/seances/{seance_id}/liste.pdf").status_code == 404

    resp = secretary.post(f"/s/actes/seances/{seance_id}/liste/publier", {}, csrf_from=f"/s/actes/seances/{seance_id}")
    assert resp.status_code == 302
    page = _page(public.get(f"/p/actes/{actes_world.insee_a}/"))
    assert f"Liste des délibérations du {TODAY.strftime('%d/%m/%Y')}" in page
    published = public.get(f"/p/actes/{actes_world.insee_a}/seances/{seance_id}/liste.pdf")
    assert published.status_code == 200 and "Tarifs de la cantine" in _text(published.get_data())
    # Kept as published: the mairie's link gives the same bytes, and the séance no longer takes délibérations.
    assert secretary.get(f"/s/actes/seances/{seance_id}/liste.pdf").get_data() == published.get_data()
    resp = deposit(secretary, number="2026_016", seance_id=str(seance_id), votes_for="1")
    assert resp.status_code == 422 and "aucune délibération ne peut plus y être ajoutée" in _page(resp)
    assert 'id="seance_id"' not in _page(resp)  # the only séance is closed: no choice offered in the deposit form

    # SCDL: the votes fill VOTE_EFFECTIF (in office), VOTE_REEL (present or represented), POUR, CONTRE, ABSTENTION
    # of the délibérations acknowledged by the préfecture and published.
    for n, number in enumerate(("2026_014", "2026_015")):
        _acknowledge(app, act_id + n, f"010-211000013-{TODAY:%Y%m%d}-{number}-DE")
    csv = public.get(f"/p/actes/{actes_world.insee_a}/deliberations.csv")
    path = tmp_path / "deliberations.csv"
    path.write_bytes(csv.get_data())
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report = Resource("deliberations.csv", basepath=str(tmp_path), schema=schema).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    reader = csv_module.DictReader(io.StringIO(csv.get_data(as_text=True)))
    rows = {r["DELIB_ID"]: [r[k] for k in VOTE_KEYS] for r in reader}
    assert rows["2026_014"] == ["7", "6", "5", "0", "1"], rows
    assert rows["2026_015"] == ["7", "6", "2", "3", "1"]
    assert _audit(app)[-1] == "actes.list_published"
    assert _audit(app).count("actes.deliberation_voted") == 2


def test_late_list_is_warned_on_the_seance_and_the_home_panel(app, actes_world, login_as, deposit):
    secretary = login_as("secretary_a")
    held = TODAY - dt.timedelta(days=10)
    seance_id = _new_seance(secretary, held_on=held)
    resp = deposit(secretary, decision_date=held.isoformat(), seance_id=str(seance_id), votes_for="6")
    assert resp.status_code == 302, _page(resp)
    # A délibération of another day cannot go in that séance.
    resp = deposit(secretary, number="2026_099", seance_id=str(seance_id), votes_for="6")
    assert resp.status_code == 422 and "la séance s'est tenue le " + held.strftime("%d/%m/%Y") in _page(resp)
    page = _page(secretary.get(f"/s/actes/seances/{seance_id}"))
    assert "Le délai est dépassé\u00a0: publiez la liste maintenant." in page
    assert "en retard" in _page(secretary.get("/s/actes/seances/"))
    home = _page(secretary.get("/"))
    due = (held + dt.timedelta(days=7)).strftime("%d/%m/%Y")
    assert "Contrôle de légalité\u00a0: ce qui attend" in home and f"avant le {due}" in home and "en retard" in home
    assert "Brouillons en attente du visa" in home and "Vote du budget primitif 2026" in home


def test_proces_verbal_checked_then_published_once_adopted(app, actes_world, login_as):
    secretary = login_as("secretary_a")
    first = _new_seance(secretary, held_on=TODAY - dt.timedelta(days=30))
    url = f"/s/actes/seances/{first}"
    resp = secretary.post(f"{url}/proces-verbal", {"document": (io.BytesIO(b"not a pdf"), "pv.pdf")},
                          content_type="multipart/form-data", csrf_from=url)
    assert resp.status_code == 302
    assert "Procès-verbal\u00a0: " in _page(secretary.get(url))  # the rule of check_upload, flashed
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Seance

    with app.app_context(), territory_scope(None):
        assert db.session.scalar(select(Seance.pv_key).where(Seance.id == first)) is None
    resp = secretary.post(f"{url}/proces-verbal",
                          {"document": (io.BytesIO(make_pdf("Procès-verbal de la séance")), "pv.pdf")},
                          content_type="multipart/form-data", csrf_from=url)
    assert resp.status_code == 302
    page = _page(secretary.get(url))
    assert "en attente de son adoption" in page and 'id="adopting_id"' not in page  # no later séance yet
    public = login_as("mayor_b")
    assert public.get(f"/p/actes/{actes_world.insee_a}/seances/{first}/proces-verbal.pdf").status_code == 404

    second = _new_seance(secretary, held_on=TODAY - dt.timedelta(days=2))
    # Adopted at an earlier séance: refused.
    earlier = _new_seance(secretary, held_on=TODAY - dt.timedelta(days=40))
    resp = secretary.post(f"{url}/proces-verbal/adoption", {"adopting_id": str(earlier)}, csrf_from=url)
    assert "adopté lors d'une séance ultérieure" in _page(secretary.get(url))
    resp = secretary.post(f"{url}/proces-verbal/adoption", {"adopting_id": str(second)}, csrf_from=url)
    assert resp.status_code == 302
    page = _page(secretary.get(url))
    assert f"Adopté lors de la séance du {(TODAY - dt.timedelta(days=2)).strftime('%d/%m/%Y')}" in page
    pv = public.get(f"/p/actes/{actes_world.insee_a}/seances/{first}/proces-verbal.pdf")
    assert pv.status_code == 200 and "Procès-verbal de la séance" in _text(pv.get_data())
    assert "Procès-verbal du" in _page(public.get(f"/p/actes/{actes_world.insee_a}/"))
    assert [a for a in _audit(app) if a.startswith("actes.pv")] == ["actes.pv_uploaded", "actes.pv_published"]


def test_registre_has_numbered_sheets_closing_sheets_and_indexes(app, actes_world, login_as, deposit, tmp_path):
    secretary = login_as("secretary_a")
    jan = dt.date(TODAY.year, 1, 15) if TODAY > dt.date(TODAY.year, 1, 15) else TODAY
    first = _new_seance(secretary, held_on=jan)
    second = _new_seance(secretary, held_on=TODAY, present="Marie Curie\nJean Jaurès", represented="",
                         absent="", secretary="Jean Jaurès")
    for number, subject, matiere, seance, day in (
            ("2026_001", "Budget primitif de la commune", "7.1", first, jan),
            ("2026_002", "Tarifs de la salle des fêtes", "7.2", first, jan),
            ("2026_003", "Travaux de voirie rue des Écoles", "1.1", second, TODAY)):
        resp = deposit(secretary, number=number, subject=subject, matiere=matiere, decision_date=day.isoformat(),
                       seance_id=str(seance), votes_for="2", act=make_pdf(f"Le conseil municipal decide: {subject}"))
        assert resp.status_code == 302, _page(resp)
    resp = secretary.get(f"/s/actes/registre.pdf?annee={TODAY.year}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = resp.get_data()
    text = _text(pdf)
    pages = text.split("\f")
    assert "Registre des délibérations" in pages[0] and "Ailleville" in pages[0]
    # Every sheet: the collectivity's name and its number; the séance's date on the séances' sheets.
    for n, page in enumerate(p for p in pages if p.strip()):
        assert "Ailleville" in page and f"Feuillet n° {n + 1}" in page, (n, page)
    sheets_of_first = [p for p in pages if f"Séance du {jan.strftime('%d/%m/%Y')}" in p]
    assert sheets_of_first and "Délibération n° 2026_001" in text
    # The délibération as signed is laid on a sheet of its own, under the sheet's name, séance and number.
    [laid] = [p for p in pages if "Le conseil municipal decide: Budget primitif de la commune" in p]
    assert f"Séance du {jan.strftime('%d/%m/%Y')}" in laid and "Délibération n° 2026_001 — page 1 / 1" in laid
    closing = [p for p in pages if "Feuillet de clôture" in p]
    assert len(closing) == 2
    assert "n° 2026_001, n° 2026_002" in closing[0] and "Louise Michel (secrétaire de séance)" in closing[0]
    assert "Émile Zola (pouvoir à Victor Hugo)" in closing[0] and "Olympe de Gouges" in closing[0]
    assert "n° 2026_003" in closing[1] and "Victor Hugo" not in closing[1]
    index = pages[-2] if not pages[-1].strip() else pages[-1]
    assert "Index par date" in text and "Index par matière" in index
    assert index.index("1.1") < index.index("7.1") < index.index("7.2")
    # The index gives the sheet of each délibération (target-counter of its entry).
    sheet = {number: next(n + 1 for n, p in enumerate(pages) if f"Délibération n° {number}" in p)
             for number in ("2026_001", "2026_002", "2026_003")}
    by_date = index.split("Index par matière")[0] if "Index par date" in index else text.split("Index par date")[1]
    for number, n in sheet.items():
        line = next(ln for ln in by_date.splitlines() if number in ln)
        assert line.rstrip().endswith(f" {n}"), (number, n, line)
    png = tmp_path / "registre"
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "3", "-", str(png)], input=pdf, check=True)
    assert sorted(p.name for p in tmp_path.glob("registre*.png"))


def test_a_seance_edited_keeps_its_votes_consistent_and_an_empty_one_can_be_deleted(app, actes_world, login_as,
                                                                                    deposit):
    secretary = login_as("secretary_a")
    seance_id = _new_seance(secretary)
    assert deposit(secretary, seance_id=str(seance_id), votes_for="6").status_code == 302
    edit = f"/s/actes/seances/{seance_id}/modifier"
    values = {"held_on": TODAY.isoformat(), "members_in_office": "7", "present": "Marie Curie\nJean Jaurès",
              "secretary": "Marie Curie"}
    resp = secretary.post(edit, values, csrf_from=edit)
    assert resp.status_code == 422 and "6 voix comptées, plus que les 2 membres présents" in _page(resp)
    resp = secretary.post(edit, {**values, "present": MEMBERS + "\nPaul Éluard",
                                 "held_on": (TODAY - dt.timedelta(days=1)).isoformat()}, csrf_from=edit)
    assert resp.status_code == 422 and "la séance garde cette date" in _page(resp)
    resp = secretary.post(edit, {**values, "present": MEMBERS + "\nPaul Éluard", "place": "Salle des fêtes"},
                          csrf_from=edit)
    assert resp.status_code == 302 and "Salle des fêtes" in _page(secretary.get(f"/s/actes/seances/{seance_id}"))

    # Not deletable with a délibération; an empty séance recorded by mistake is.
    secretary.post(f"/s/actes/seances/{seance_id}/supprimer", {}, csrf_from=f"/s/actes/seances/{seance_id}")
    assert "Seule une séance sans délibération" in _page(secretary.get(f"/s/actes/seances/{seance_id}"))
    empty = _new_seance(secretary, held_on=TODAY - dt.timedelta(days=3))
    resp = secretary.post(f"/s/actes/seances/{empty}/supprimer", {}, csrf_from=f"/s/actes/seances/{empty}")
    assert resp.status_code == 302 and secretary.get(f"/s/actes/seances/{empty}").status_code == 404
    assert "actes.seance_deleted" in _audit(app) and "actes.seance_updated" in _audit(app)


def test_api_deposits_a_deliberation_in_its_seance_and_lists_the_votes(app, actes_world, login_as):
    from .conftest import deposit_values

    secretary = login_as("secretary_a")
    seance_id = _new_seance(secretary)
    headers = {"X-CSRFToken": secretary.csrf("/profil")}
    data = deposit_values(number="API_1", seance_id=str(seance_id), votes_for="9")
    data["act"] = (io.BytesIO(make_pdf()), "acte.pdf")
    resp = secretary.http.post("/api/v1/actes/acts", data=data, content_type="multipart/form-data", headers=headers)
    assert resp.status_code == 422
    assert resp.get_json()["problems"] == [{"rule": "seance", "message": "9 voix comptées, plus que les 6 membres "
                                                                         "présents ou représentés."}]
    data = deposit_values(number="API_1", seance_id=str(seance_id), votes_for="4", votes_against="2")
    data["act"] = (io.BytesIO(make_pdf()), "acte.pdf")
    resp = secretary.http.post("/api/v1/actes/acts", data=data, content_type="multipart/form-data", headers=headers)
    assert resp.status_code == 201, resp.get_json()
    [listed] = secretary.get("/api/v1/actes/seances").get_json()
    assert listed["id"] == seance_id and listed["represented"] == [{"member": "Émile Zola",
                                                                   "proxy_holder": "Victor Hugo"}]
    assert listed["deliberations"] == [{"act_id": resp.get_json()["id"], "number": "API_1",
                                        "subject": "Vote du budget primitif 2026", "votes_for": 4,
                                        "votes_against": 2, "abstentions": None, "adopted": True}]
    assert secretary.get(f"/api/v1/actes/seances/{seance_id}").get_json()["list_due_on"] == (
        TODAY + dt.timedelta(days=7)).isoformat()

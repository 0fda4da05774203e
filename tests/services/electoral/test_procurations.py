"""Procurations (Code électoral L. 71 to L. 78, reform of 2022): recorded from the voter's page, one procuration
established in France per mandataire (L. 73), printed on the émargement list beside the mandant, imported from an
REU file. Every person is FICTITIOUS."""
from __future__ import annotations

import html
import io
import os
import subprocess

from sqlalchemy import select

URL = "/s/electoral/procurations"


def _proxy(**kw):
    data = {"proxy_birth_name": "DURANDAL", "proxy_first_names": "Rosine", "proxy_birth_date": "12/03/1958",
            "proxy_commune": "Bar-sur-Aube", "election": "0", "valid_from": "01/01/2026", "valid_until": "31/12/2026",
            "authority": "police", "established_on": "02/01/2026", "reference": "PR-2026-0001"}
    data.update(kw)
    return data


def test_procurations_recorded_and_limited_to_one_established_in_france_per_mandataire(app, login_as, elec):
    c = login_as("secretary_a")
    voter_page = c.get(f"/s/electoral/electeurs/{elec.voter_a}").get_data(as_text=True)
    assert f"{URL}?electeur={elec.voter_a}" in voter_page
    form_page = f"{URL}?electeur={elec.voter_a}"
    assert "Mandant" in c.get(form_page).get_data(as_text=True)
    resp = c.post(URL, _proxy(mandant=str(elec.voter_a)), csrf_from=form_page)
    assert resp.status_code == 302
    page = c.get(f"/s/electoral/electeurs/{elec.voter_a}").get_data(as_text=True)
    assert "DURANDAL Rosine" in page and "Bar-sur-Aube" in page
    # the same mandataire for a second mandant, also established in France: refused (L. 73)
    again = c.post(URL, _proxy(mandant=str(elec.voter_a2), valid_from="01/06/2026", valid_until="30/06/2026"),
                   csrf_from=form_page)
    assert again.status_code == 400 and "article L. 73" in html.unescape(again.get_data(as_text=True))
    # established abroad (a consulate), the second one is allowed
    abroad = c.post(URL, _proxy(mandant=str(elec.voter_a2), authority="consulate"), csrf_from=form_page)
    assert abroad.status_code == 302
    # a third one: two at most
    third = c.post(URL, _proxy(mandant=str(elec.voter_a2), authority="consulate", proxy_birth_name="DURANDAL"),
                   csrf_from=form_page)
    assert third.status_code == 400
    # more than a year: refused
    long = c.post(URL, _proxy(mandant=str(elec.voter_a), proxy_birth_name="AUTRE", valid_until="31/03/2027"),
                  csrf_from=form_page)
    assert long.status_code == 400 and "un an au plus" in html.unescape(long.get_data(as_text=True))
    # an elected official reads them, never records one
    elected = login_as("elected_a")
    assert "DURANDAL" in elected.get(URL).get_data(as_text=True)
    assert elected.post(URL, _proxy(mandant=str(elec.voter_a)), csrf_from=URL).status_code == 403
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "electoral.procuration_recorded")).all()


def test_emargement_list_shows_the_procuration_beside_the_mandant(app, login_as, elec):
    c = login_as("secretary_a")
    form_page = f"{URL}?electeur={elec.voter_a}"
    assert c.post(URL, _proxy(mandant=str(elec.voter_a), election=str(elec.election_a), valid_from="",
                              valid_until=""), csrf_from=form_page).status_code == 302
    pdf = c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf?scrutin={elec.election_a}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout
    text = text.decode()
    lines = text.splitlines()
    [martin] = [i for i, line in enumerate(lines) if "MARTIN" in line]
    near = " ".join(" ".join(lines[martin:martin + 4]).replace("\u00a0", " ").split())
    assert "Procuration : DURANDAL Rosine, né(e) le 12/03/1958" in near, near
    assert "ÉTIENNE" in text and text.count("Procuration") == 1  # the other voter has none
    os.makedirs("test-artifacts", exist_ok=True)
    with open("test-artifacts/emargement-procuration.pdf", "wb") as fh:
        fh.write(pdf.data)
    # cancelled: no longer printed
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import Procuration

    with app.app_context(), territory_scope({"10002"}):
        pid = db.session.scalar(select(Procuration.id))
    assert c.post(f"{URL}/{pid}/resilier", {}, csrf_from=URL).status_code == 302
    pdf = c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf?scrutin={elec.election_a}")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert "Procuration" not in text


def test_procurations_imported_from_an_reu_file(app, login_as, elec):
    header = ("NomNaissanceMandant;PrenomsMandant;DateNaissanceMandant;NomNaissanceMandataire;PrenomsMandataire;"
              "DateNaissanceMandataire;CommuneMandataire;DateDebutValidite;DateFinValidite;Autorite;DateEtablissement")
    good = "MARTIN;Élodie Anne;04/05/1980;LEROUX;Marc;01/02/1950;Troyes;01/01/2026;31/12/2026;Ma procuration;02/01/2026"
    unknown = "INCONNU;Jean;01/01/1970;PETIT;Anne;01/01/1960;;01/01/2026;31/12/2026;Gendarmerie;02/01/2026"
    c = login_as("secretary_a")

    def send(lines):
        raw = ("\r\n".join([header] + lines) + "\r\n").encode("utf-8")
        return c.post(f"{URL}/import", {"file": (io.BytesIO(raw), "procurations.csv")}, csrf_from=URL,
                      content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    body = html.unescape(send([good, unknown]))
    assert "Ligne 3" in body and "Rien n'a été importé" in body
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import Procuration

    with app.app_context(), territory_scope({"10002"}):
        assert db.session.scalars(select(Procuration)).all() == []
    body = html.unescape(send([good]))
    assert "1 procuration(s) importée(s)" in body
    with app.app_context(), territory_scope({"10002"}):
        [p] = db.session.scalars(select(Procuration)).all()
        assert (p.proxy_birth_name, p.authority, p.source, p.mandant_id) == ("LEROUX", "online", "import",
                                                                              elec.voter_a)

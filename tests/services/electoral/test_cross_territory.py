"""Every route of the electoral rolls service × every role of commune A × the ids of commune B's objects (and the EPCI
user against Troyes, and the department staff): refused, and no foreign personal data in any answer."""
from __future__ import annotations

import io

import pytest

from tests.helpers.cross_territory import check_routes

PREFIXES = ["/s/electoral", "/api/v1/electoral", "/p/electoral"]
MARKERS_B = ["Secretjob", "SECRETNOMB", "Secretrueb", "987654321", "Secretbureau", "Secretelection", "Secretimport",
             "Secretdocument", "SECRETMANDATAIREB"]
MARKERS_TROYES = ["TROYESSECRET", "Troyesrue"]
# check_routes reads every body as text: the two PDF routes without parameters (binary answers) are checked by
# test_pdfs_and_export_of_a_hold_no_voter_of_b below, on the text extracted from the PDFs.
EXCLUDE = ["/s/electoral/static", "/s/electoral/liste-generale.pdf", "/s/electoral/statistiques.pdf",
           "/s/electoral/emargement.zip"]


@pytest.fixture
def foreign(app, elec, world, add_voter, tmp_path):
    from sqlalchemy import select

    from portal.extensions import db
    import datetime as dt

    from services.electoral.models import ImportBatch, Movement, PrintJob, Procuration, StreetBureau

    with app.app_context():
        batch = ImportBatch(commune_insee=world.insee_b, filename="Secretimport.csv", content=b"x", author="b")
        street = StreetBureau(commune_insee=world.insee_b, street_key="secretrueb", street_label="Chemin Secretrueb",
                              bureau_id=elec.bureau_b)
        job = PrintJob(commune_insee=world.insee_b, kind="emargement", bureau_id=elec.bureau_b, status="done",
                       filename="emargement-bureau-1.pdf", requested_by="Secretjob@jaucourt.example.org",
                       path=str(tmp_path / "b.pdf"))
        (tmp_path / "b.pdf").write_bytes(b"%PDF Secretdocument")
        procuration = Procuration(commune_insee=world.insee_b, mandant_id=elec.voter_b,
                                  proxy_birth_name="SECRETMANDATAIREB", proxy_first_names="Paul",
                                  proxy_birth_date=dt.date(1960, 1, 1), proxy_key="secretmandataireb|paul|1960-01-01",
                                  valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 12, 31),
                                  authority="police", established_on=dt.date(2026, 1, 1))
        db.session.add_all([batch, street, job, procuration])
        movement = db.session.scalar(select(Movement).where(Movement.voter_id == elec.voter_b))
        movement.justification, movement.justification_name = b"%PDF Secretdocument", "Secretdocument.pdf"
        db.session.commit()
        batch_id, movement_id, street_id, job_id = batch.id, movement.id, street.id, job.id
        procuration_id = procuration.id
    troyes_voter = add_voter(world.insee_troyes, "TROYESSECRET", "Jean", "1970-01-01", street_name="Troyesrue")
    return {"voter_id": elec.voter_b, "bureau_id": elec.bureau_b, "election_id": elec.election_b,
            "batch_id": batch_id, "movement_id": movement_id, "street_id": street_id, "job_id": job_id,
            "procuration_id": procuration_id,
            "filename": "electoral.css"}, troyes_voter


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
def test_users_of_commune_a_never_reach_commune_b(app, world, login_as, foreign, role):
    ids, _ = foreign
    client = login_as(role, world.a)
    report = check_routes(client, app, ids, MARKERS_B + MARKERS_TROYES, prefixes=PREFIXES,
                          exclude=EXCLUDE)
    report.assert_clean()
    assert len(report.checked) >= 25


def test_epci_user_never_reaches_troyes_nor_its_members(app, world, login_as, foreign):
    ids, troyes_voter = foreign
    client = login_as("epci_user")
    report = check_routes(client, app, {**ids, "voter_id": troyes_voter}, MARKERS_B + MARKERS_TROYES + ["MARTIN"],
                          prefixes=PREFIXES, exclude=EXCLUDE)
    report.assert_clean()
    # the EPCI is subscribed and its role holds electoral.read, yet voters are for communes only
    for url in ("/s/electoral/", "/api/v1/electoral/voters", "/s/electoral/export.csv"):
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent"])
def test_department_staff_never_see_voters(app, world, login_as, foreign, role):
    ids, _ = foreign
    client = login_as(role)
    report = check_routes(client, app, ids, MARKERS_B + MARKERS_TROYES + ["MARTIN", "ÉTIENNE"], prefixes=PREFIXES,
                          exclude=EXCLUDE)
    report.assert_clean()
    assert client.get("/s/electoral/").status_code == 403


def test_pdfs_and_export_of_a_hold_no_voter_of_b(app, world, login_as, elec):
    from pypdf import PdfReader

    client = login_as("secretary_ab", world.a)
    for url in ("/s/electoral/liste-generale.pdf", f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf",
                f"/s/electoral/bureaux/{elec.bureau_a}/cartes.pdf", "/s/electoral/statistiques.pdf",
                "/s/electoral/commission?du=01/01/2000&au=31/12/2030&format=pdf"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
        assert "Ailleville" in text
        for m in MARKERS_B:
            assert m not in text, (url, m)
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(client.get("/s/electoral/emargement.zip").data))
    for name in archive.namelist():
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(name))).pages)
        assert "Ailleville" in text and not any(m in text for m in MARKERS_B)
    export = client.get("/s/electoral/export.csv").get_data(as_text=True)
    assert "MARTIN" in export and not any(m in export for m in MARKERS_B)

"""Owners: CSV import (all-or-nothing, per-line report), permission, audit of every read with its purpose.

Every person below is FICTITIOUS (names invented for the tests); the parcels are Luxiol's real ones.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from .conftest import EDIGEO

P1, P2 = "25354000AB0001", "25354000AB0050"
CSV = (
    "parcelle;compte;droit;type;nom_usage;nom_naissance;prenoms;date_naissance;denomination;siren;adresse\n"
    f"{P1};+00012;propriétaire;physique;FICTIFNOM;FICTIFNÉE;Hélène Marie;03/02/1961;;;2 rue Imaginaire 25110 Luxiol\n"
    f"{P1};+00012;usufruitier;physique;;ÉTRANGEFICTIF;Jules;1935-07-14;;;\n"
    f"{P2};+00300;propriétaire;morale;;;;;GFA DU BOIS FICTIF;732829320;Mairie fictive\n"
)


@pytest.fixture
def lux(app, extra_communes, run_import, sign_in):
    from services.cadastre.owners import import_owners

    run_import(EDIGEO, commune="25354")
    with app.app_context():
        report = import_owners(CSV.encode(), "25354")
    assert (report.rows, report.parcels, report.accounts) == (3, 2, 2)
    return extra_communes


def _audit(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [(e.actor, e.purpose, e.target_id) for e in
                db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_bad_csv_is_refused_line_by_line_and_changes_nothing(app, lux):
    from portal.extensions import db
    from services.cadastre.importer import ImportFailed
    from services.cadastre.models import Owner
    from services.cadastre.owners import import_owners

    bad = (CSV.splitlines()[0] + "\n"
           f"{P1};+1;propriétaire;physique;;;Jean;;;;\n"                   # no name
           "2535400AB1;+1;propriétaire;physique;X;;Y;;;;\n"                 # malformed id
           f"{P1};+1;propriétaire;morale;;;;;SCI X;123456789;\n"            # bad SIREN key
           f"{P1};+1;propriétaire;physique;X;;Y;31/02/1990;;;\n"            # impossible date
           "10002000ZZ0001;+1;propriétaire;physique;X;;Y;;;;\n"             # another commune
           f"{P2};+1;propriétaire;alien;X;;Y;;;;\n")                        # bad type
    with app.app_context():
        with pytest.raises(ImportFailed) as exc:
            import_owners(bad.encode(), "25354")
        assert [e.split(":")[0] for e in exc.value.errors] == [f"line {n}" for n in range(2, 8)]
        assert "SIREN" in exc.value.errors[2] and "not in commune 25354" in exc.value.errors[4]
        assert db.session.query(Owner).count() == 3  # the previous import is intact
        with pytest.raises(ImportFailed, match="missing column"):
            import_owners(b"a;b\n1;2\n", "25354")


def test_mayor_reads_owners_with_a_purpose_and_it_is_audited(app, lux, sign_in):
    mayor = sign_in(lux.users["mayor_lux"])
    panel = mayor.get(f"/s/cadastre/parcelles/{P1}/panneau").get_data(as_text=True)
    assert "FICTIFNOM" not in panel and f"/s/cadastre/parcelles/{P1}/proprietaires" in panel
    form = mayor.get(f"/s/cadastre/parcelles/{P1}/proprietaires").get_data(as_text=True)
    assert "FICTIFNOM" not in form and "Motif de la consultation" in form
    assert _audit(app, "cadastre.owners.read") == []
    short = mayor.get(f"/s/cadastre/parcelles/{P1}/proprietaires?motif=x").get_data(as_text=True)
    assert "FICTIFNOM" not in short and "5 caractères" in short
    page = mayor.get(f"/s/cadastre/parcelles/{P1}/proprietaires?motif=Courrier aux riverains").get_data(as_text=True)
    assert "FICTIFNOM Hélène Marie née FICTIFNÉE" in page and "ÉTRANGEFICTIF" in page and "usufruitier" in page
    assert _audit(app, "cadastre.owners.read") == [(lux.users["mayor_lux"], "Courrier aux riverains", P1)]
    # Owner search, accent- and case-insensitive.
    found = mayor.get("/s/cadastre/proprietaires?q=etrangefictif&motif=Réponse à un administré").get_data(as_text=True)
    assert P1 in found and "ÉTRANGEFICTIF" in found
    assert _audit(app, "cadastre.owners.search")[-1][1] == "Réponse à un administré"
    # Owner statement (relevé de propriété) of the legal person's account.
    stmt = mayor.get("/s/cadastre/comptes/+00300?motif=Gestion du domaine communal").get_data(as_text=True)
    assert "GFA DU BOIS FICTIF (SIREN 732829320)" in stmt and P2 in stmt
    # Neighbours of AB 50 with their owners, and as CSV.
    csv = mayor.get(f"/s/cadastre/parcelles/{P1}/voisines?format=csv&motif=Courrier aux riverains&distance=50")
    text = csv.get_data(as_text=True)
    assert "proprietaire" in text.splitlines()[0]


def test_secretary_without_the_permission_sees_no_owner_anywhere(app, lux, sign_in):
    sec = sign_in(lux.users["secretary_lux"])
    purpose = "motif=Courrier aux riverains"
    for url in (f"/s/cadastre/parcelles/{P1}/proprietaires?{purpose}", f"/s/cadastre/proprietaires?q=fictif&{purpose}",
                f"/s/cadastre/comptes/+00012?{purpose}", f"/s/cadastre/comptes/+00012/releve.pdf?{purpose}",
                f"/s/cadastre/comptes/+00012/releve.csv?{purpose}", f"/s/cadastre/comptes/+00300/releve.pdf?{purpose}"):
        resp = sec.get(url)
        assert resp.status_code == 403, url
        assert "FICTIFNOM" not in resp.get_data(as_text=True)
    for url in (f"/s/cadastre/parcelles/{P1}", f"/s/cadastre/parcelles/{P1}/panneau", f"/s/cadastre/?parcelle={P1}",
                f"/s/cadastre/parcelles/{P2}/voisines?{purpose}&distance=50",
                f"/s/cadastre/parcelles/{P2}/voisines?{purpose}&distance=50&format=csv",
                f"/s/cadastre/recherche?q={P1}+{P2}&format=csv", f"/api/v1/cadastre/parcels/{P1}",
                f"/api/v1/cadastre/parcels/{P2}/neighbours?distance=50", f"/s/cadastre/parcelles/{P1}/fiche.pdf",
                f"/s/cadastre/parcelles/{P2}/fiche.pdf", "/api/v1/cadastre/parcels?bbox=6.30,47.36,6.36,47.40"):
        resp = sec.get(url)
        assert resp.status_code in (200, 404), url
        body = resp.get_data(as_text=True) if not resp.mimetype == "application/pdf" else _pdf_text(resp.data)
        for name in ("FICTIFNOM", "ÉTRANGEFICTIF", "GFA DU BOIS", "+00012", "Propriétaires"):
            assert name not in body, (url, name)
    assert _audit(app, "cadastre.owners.read") == []


def test_granted_secretary_reads_owners(app, lux, sign_in):
    from portal.extensions import db
    from portal.models import Membership, User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == lux.users["secretary_lux"]))
        m = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        m.extra_permissions = ["cadastre.owners.read"]
        db.session.commit()
    sec = sign_in(lux.users["secretary_lux"])
    page = sec.get(f"/s/cadastre/parcelles/{P1}/proprietaires?motif=Instruction urbanisme").get_data(as_text=True)
    assert "FICTIFNOM" in page
    assert _audit(app, "cadastre.owners.read") == [(lux.users["secretary_lux"], "Instruction urbanisme", P1)]


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_owner_statement_pdf_and_csv_are_audited_with_their_purpose(app, lux, sign_in):
    mayor = sign_in(lux.users["mayor_lux"])
    # Without a purpose: the form, nothing read, nothing audited.
    form = mayor.get("/s/cadastre/comptes/+00012/releve.pdf")
    assert form.status_code == 200 and form.mimetype == "text/html" and "Motif de la consultation" in form.get_data(
        as_text=True) and "FICTIFNOM" not in form.get_data(as_text=True)
    assert mayor.get("/s/cadastre/comptes/+99999/releve.pdf?motif=Courrier aux riverains").status_code == 404
    assert _audit(app, "cadastre.owners.statement") == []
    pdf = mayor.get("/s/cadastre/comptes/+00012/releve.pdf?commune=25354&motif=Succession en cours")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert "Relevé de propriété du compte +00012" in text and "FICTIFNOM Hélène Marie née FICTIFNÉE" in text
    assert "ÉTRANGEFICTIF Jules" in text and "usufruitier" in text and "né(e) le 03/02/1961" in text
    assert P1 in text and "226 060 m²" in text and "Succession en cours" in text
    assert "GFA DU BOIS" not in text  # another account
    csv = mayor.get("/s/cadastre/comptes/+00300/releve.csv?motif=Gestion du domaine communal")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].split(";")[-4:] == ["compte", "droit", "proprietaire", "adresse_proprietaire"]
    assert len(lines) == 2 and lines[1].startswith(P2) and "GFA DU BOIS FICTIF (SIREN 732829320)" in lines[1]
    assert _audit(app, "cadastre.owners.statement") == [
        (lux.users["mayor_lux"], "Succession en cours", "+00012"),
        (lux.users["mayor_lux"], "Gestion du domaine communal", "+00300")]


def test_cadastre_csv_exports_neutralise_formulas(app, extra_communes, run_import, sign_in):
    """An owner's address or name that a spreadsheet would run (« =HYPERLINK(…) », « @SUM(…) », « +33… ») is
    exported as text (prefixed with an apostrophe, OWASP), in the owner statement and the neighbours' CSV; the
    exports are never cached."""
    import csv
    import io

    from services.cadastre.owners import import_owners

    run_import(EDIGEO, commune="25354")
    evil = ("parcelle;compte;droit;type;nom_usage;nom_naissance;prenoms;date_naissance;denomination;siren;adresse\n"
            f'{P1};+00012;propriétaire;physique;@SUM(1+1);;Jean;01/02/1960;;;"=HYPERLINK(""http://evil.example"")"\n'
            f"{P2};+00300;propriétaire;morale;;;;;-2+3;732829320;+33 1 23\n")
    with app.app_context():
        import_owners(evil.encode(), "25354")
    mayor = sign_in(extra_communes.users["mayor_lux"])
    exports = [mayor.get("/s/cadastre/comptes/+00012/releve.csv?motif=Gestion du domaine communal"),
               mayor.get(f"/s/cadastre/parcelles/{P1}/voisines?format=csv&motif=Courrier aux riverains&distance=50")]
    cells = []
    for resp in exports:
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
        cells += [c for row in csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
                  for c in row]
    assert "'=HYPERLINK(\"http://evil.example\")" in cells and any(c.startswith("'@SUM(1+1)") for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_owner_pages_are_never_cached(app, lux, sign_in):
    """Every page that shows owners (personal data) says Cache-Control: no-store, not only the exports."""
    mayor = sign_in(lux.users["mayor_lux"])
    purpose = "motif=Courrier aux riverains"
    for url in (f"/s/cadastre/parcelles/{P1}/proprietaires?{purpose}", f"/s/cadastre/proprietaires?q=FICTIF&{purpose}",
                f"/s/cadastre/comptes/+00012?{purpose}", f"/s/cadastre/parcelles/{P1}/voisines?{purpose}&distance=50",
                f"/s/cadastre/comptes/+00012/releve.pdf?{purpose}", f"/s/cadastre/comptes/+00012/releve.csv?{purpose}"):
        resp = mayor.get(url)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store", url
    assert "FICTIFNOM" in mayor.get(f"/s/cadastre/comptes/+00012?{purpose}").get_data(as_text=True)

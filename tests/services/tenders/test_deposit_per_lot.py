"""The deposit form per lot: the candidature once, then for each lot the company chooses its acte d'engagement,
financial offer and technical memo; the files are sealed while they arrive (the stored bytes never hold the
plaintext) and the register, the minutes and the analysis grid follow the lots."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from .conftest import ROOF, calendar, new_tender, real_pdf
from .test_bids import _company
from .test_opening_analysis import _pass_deadline

MARKER = "MEMOIRE-TECHNIQUE-ZINGUERIE-7373"


@pytest.fixture
def two_lots(app, tenders_world, login_as):
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    data = {k: dict(v) for k, v in ROOF.items()}
    data[1] |= {"lots": "Couverture\nZinguerie", "single_lot_reason": ""}
    data[2] = {"lot_1": "70000", "lot_2": "50000"}
    data[4] = calendar() | {"media": ["portal", "buyer_profile", "boamp"]}
    for step in range(1, 7):
        resp = mayor.post(f"/s/tenders/{tid}/etape/{step}", data[step] | {"action": "next"},
                          csrf_from=f"/s/tenders/{tid}/etape/1")
        assert resp.status_code == 302, (step, resp.get_data(as_text=True)[-2000:])
    resp = mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from=f"/s/tenders/{tid}/recapitulatif")
    assert resp.status_code == 302
    return mayor, tid


def _signed_in(app, client, email):
    _company(app, email=email)
    assert client.post("/p/tenders/entreprises/connexion", {"email": email, "password": "Tuiles-plates-du-clocher-1887"},
                       csrf_from="/p/tenders/entreprises/connexion").status_code == 302
    return client


def _send(client, tid, fields: dict, lots: list[int]):
    token = client.csrf("/p/tenders/entreprises/connexion")
    data = {"csrf_token": token, "lot": [str(n) for n in lots]}
    data |= {name: (io.BytesIO(content), filename) for name, (filename, content) in fields.items()}
    return client.http.post(f"/p/tenders/{tid}/depot", data=data, content_type="multipart/form-data",
                            follow_redirects=True)


def test_a_company_bids_for_one_lot_of_two_and_the_grid_follows(app, two_lots, client):
    from portal.extensions import db
    from services.tenders import storage
    from services.tenders.deposits import Bid

    mayor, tid = two_lots
    form = client.get(f"/p/tenders/{tid}/depot").get_data(as_text=True)
    assert form.count('name="lot"') == 0  # not signed in: sent to the sign-in page
    _signed_in(app, client, "zinc@btp.test.example.org")
    form = client.get(f"/p/tenders/{tid}/depot").get_data(as_text=True)
    assert 'name="engagement_1"' in form and 'name="memoire_2"' in form and form.count('name="lot"') == 2
    memo = real_pdf(MARKER)
    files = {"candidature": ("DC1.pdf", real_pdf("DC1")), "engagement_2": ("AE lot 2.pdf", real_pdf("AE")),
             "financiere_2": ("DPGF lot 2.pdf", real_pdf("DPGF")), "memoire_2": ("Mémoire lot 2.pdf", memo)}
    # a lot ticked without its files, or files of a lot not ticked: refused, nothing stored
    page = _send(client, tid, files, [1, 2]).get_data(as_text=True)
    assert "Lot 1\u00a0: ajoutez les fichiers" in page
    page = _send(client, tid, files, []).get_data(as_text=True)
    assert "Lot 2\u00a0: cochez le lot" in page
    with app.app_context():
        assert db.session.query(Bid).count() == 0
        assert not any(p.suffix == ".part" for p in storage.root().rglob("*"))
    page = _send(client, tid, files, [2]).get_data(as_text=True)
    assert "reçue et scellée" in page and "Lot 2 — Mémoire technique" in page
    with app.app_context():
        bid = db.session.query(Bid).one()
        assert bid.lots == [2] and bid.covers(2) and not bid.covers(1)
        assert sorted((f.role, f.lot_number) for f in bid.files) == [
            ("candidature", None), ("engagement", 2), ("financiere", 2), ("memoire", 2)]
        for f in bid.files:
            stored = storage.path_of(f.storage_key).read_bytes()
            assert stored.startswith(b"SEAL2") and MARKER.encode() not in stored and len(stored) == f.sealed_size
        assert not any(p.suffix == ".part" for p in storage.root().rglob("*"))
    register = mayor.get(f"/s/tenders/{tid}/depots").get_data(as_text=True)
    assert "Lot 2, Mémoire technique" in register
    # after the deadline: opened; lot 1's grid has no offer, lot 2's has the company's
    _pass_deadline(app, tid)
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    with app.app_context():
        memo_file = next(f for f in db.session.query(Bid).one().files if f.role == "memoire")
        assert memo_file.check == "ok"
    assert "Couverture Auboise SARL" not in mayor.get(f"/s/tenders/{tid}/analyse/1").get_data(as_text=True)
    assert "Couverture Auboise SARL" in mayor.get(f"/s/tenders/{tid}/analyse/2").get_data(as_text=True)
    opened = mayor.get(f"/s/tenders/{tid}/depots/{bid.id}/fichiers/{memo_file.id}")
    assert opened.status_code == 200 and opened.data == memo


def test_a_file_over_the_limit_is_refused_with_its_name_and_nothing_is_kept(app, two_lots, client):
    from portal.extensions import db
    from services.tenders import storage
    from services.tenders.deposits import Bid

    _mayor, tid = two_lots
    _signed_in(app, client, "gros@btp.test.example.org")
    with app.app_context():
        before = {p for p in storage.root().rglob("*") if p.is_file()}
    app.config["TENDERS_MAX_ATTACHMENT_MB"] = 1
    try:
        big = real_pdf("gros", padding=1_200_000)
        page = _send(client, tid, {"financiere_1": ("DQE énorme.pdf", big)}, [1]).get_data(as_text=True)
    finally:
        app.config.pop("TENDERS_MAX_ATTACHMENT_MB", None)
    assert "DQE énorme.pdf" in page and "1\u00a0Mo" in page
    with app.app_context():
        assert db.session.query(Bid).count() == 0
        assert {p for p in storage.root().rglob("*") if p.is_file()} == before


def test_a_deposit_time_stamp_is_the_reception_of_its_last_byte(app, two_lots):
    """The time that counts is the end of the reception: a deposit whose last byte arrives at the deadline is late
    even if its sending began before (the rule stated in the RC, the arrêté of 22 March 2019)."""
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.companies import Company
    from services.tenders.models import Tender

    _mayor, tid = two_lots
    cid = _company(app, email="lent@btp.test.example.org")
    with app.app_context():
        t, c = db.session.get(Tender, tid), db.session.get(Company, cid)
        key = deposits.consultation_key(t)
        started = deposits.deadline_utc(t) - dt.timedelta(seconds=30)  # sending began before the deadline
        from services.tenders import storage

        up = storage.SealedUpload(t.id, key.public_pem, "offre.pdf")
        up.write(real_pdf("lent"))
        last_byte = deposits.deadline_utc(t)  # … and ended exactly at the deadline
        bid = deposits.deposit_uploads(t, c, [deposits.Part("financiere", 1, "offre.pdf", up)], last_byte, started)
        db.session.commit()
        assert bid.late and bid.received_at == last_byte.replace(tzinfo=None)
        assert bid.began_at == started.replace(tzinfo=None)  # for the copie de sauvegarde (annexe 6, art. 2, II, 2°)
        assert not up.tmp.exists() and storage.path_of(bid.files[0].storage_key).exists()  # kept, sealed

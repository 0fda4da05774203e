"""The full round trip against a loopback S²LOW over TLS with client-certificate authentication: deposit, send
(through the outbox), statuses, the ARActe (stamped PDF, public page), a letter of the préfecture and its answer,
cancellation; and what goes wrong: TdT down, KO, wrong certificate, basic auth, a worker dying mid-send, backoff."""
from __future__ import annotations

import datetime as dt
import html
import subprocess

import pytest
from sqlalchemy import select

from tests.helpers.clock import legal_today

from .conftest import act_ids
from .fixtures import PNG, acknowledgement, make_pdf


def _act(app, act_id):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        a = db.session.get(Act, act_id)
        return {"status": a.status, "reason": a.status_reason, "tx": a.tdt_transaction_id, "unique_id": a.unique_id,
                "history": [h.status for h in a.history], "received_on": a.received_on,
                "published_at": a.published_at, "files": {f.role: f.id for f in a.files},
                "failures": a.poll_failures, "next_poll_at": a.next_poll_at,
                "replies": [(r.id, r.kind, r.answer_due_on, r.answer_kind) for r in a.replies]}


def _poll(app):
    from portal.models import utcnow
    from portal.tenancy import territory_scope
    from services.actes import transmission

    with app.app_context(), territory_scope(None):
        return transmission.poll_due(now=utcnow() + dt.timedelta(days=1))


def _deposit_and_send(client, deposit, app, **fields):
    resp = deposit(client, annexes=[("plan.png", PNG)], **fields)
    assert resp.status_code == 302, html.unescape(resp.get_data(as_text=True))[-3000:]
    act_id = act_ids(app)[-1]
    resp = client.post(f"/s/actes/{act_id}/envoyer", {}, csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302
    return act_id


def _audit_actions(app) -> list[str]:
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("actes.%"))
                                       .order_by(AuditEvent.id)))


def test_round_trip_send_ar_letter_answer_cancel(app, world, login_as, deposit, tdt):
    mayor = login_as("mayor_a")
    act_id = _deposit_and_send(mayor, deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "posted" and act["history"] == ["draft", "queued", "posted"]
    [(tx_id, tx)] = tdt.transactions.items()
    assert act["tx"] == tx_id
    fields = {k: v for k, v in tx["fields"].items()}
    assert fields["number"] == ["2026_014"] and fields["classif1"] == ["7"] and fields["classif2"] == ["1"]
    assert fields["nature_code"] == ["1"] and fields["type_acte"] == ["99_DE"] and fields["type_pj[]"] == ["99_AU"]
    day = legal_today().strftime("%Y%m%d")
    assert [(n, f) for n, f, _d in tx["files"]] == [
        ("acte_pdf_file", f"010-211000013-{day}-2026_014-DE-1-1_1.pdf"),
        ("acte_attachments[]", f"010-211000013-{day}-2026_014-DE-1-1_2.png")]

    tx["status"] = 3
    _poll(app)
    assert _act(app, act_id)["status"] == "transmitted"

    unique_id = f"010-211000013-{day}-2026_014-DE"
    # The préfecture receives it on the Aube's date, and the act is published on it: the host's date (UTC) is still
    # yesterday from 23:00 UTC, and the stamp must not print the UTC date of publication then.
    received = legal_today()
    tx["status"], tx["ar"] = 4, acknowledgement(unique_id, "2026_014", legal_today().isoformat(), 1, received)
    _poll(app)
    act = _act(app, act_id)
    assert act["status"] == "acknowledged" and act["unique_id"] == unique_id
    assert act["received_on"] == received and act["published_at"] is not None
    page = html.unescape(mayor.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert unique_id in page and "acquittement reçu" in page

    stamped = mayor.get(f"/s/actes/{act_id}/fichiers/{act['files']['stamped']}")
    assert stamped.status_code == 200 and stamped.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=stamped.get_data(), capture_output=True, check=True).stdout
    today = legal_today().strftime("%d/%m/%Y")
    assert f"Acte certifié exécutoire — reçu en préfecture le {today}, publié le {today}" in text.decode()
    assert unique_id in text.decode() and "Délibération du conseil municipal" in text.decode()

    public = html.unescape(login_as("mayor_b").get(f"/p/actes/{world.insee_a}/").get_data(as_text=True))
    assert "Vote du budget primitif 2026" in public
    assert mayor.get(f"/p/actes/{world.insee_a}/{act_id}.pdf").get_data() == stamped.get_data()

    # A simple letter of the préfecture arrives, is answered from the page.
    tdt.documents.append({"id": "5001", "type": "2", "related_transaction_id": tx_id, "unique_id": unique_id,
                          "number": "2026_014", "last_status_id": "21"})
    assert _poll(app)["replies"] == 1
    [(reply_id, kind, due, answered)] = _act(app, act_id)["replies"]
    assert kind == "courrier_simple" and answered is None and (due - legal_today()).days in range(59, 63)
    assert tdt.documents[0]["read"] is True
    # The document came as S²LOW serves it (a redirection to the envelope's tar.gz): its PDF letter is the reply's.
    assert ("GET", "/modules/actes/actes_download_file.php") in tdt.requests
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act, PrefectureReply
    from services.actes.operations import read_file

    with app.app_context(), territory_scope(None):
        replies_files = [f for f in db.session.get(Act, act_id).files if f.role == "reply"]
        assert sorted(f.mimetype for f in replies_files) == ["application/pdf", "application/xml",
                                                             "application/xml"]
        letter = next(f for f in replies_files if f.mimetype == "application/pdf")
        assert db.session.get(PrefectureReply, reply_id).document_key == letter.storage_key
        assert b"Courrier de la pr" in subprocess.run(["pdftotext", "-", "-"], input=read_file(letter),
                                                       capture_output=True, check=True).stdout
    page = html.unescape(mayor.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert "Courrier simple" in page and due.strftime("%d/%m/%Y") in page
    import io
    resp = mayor.post(f"/s/actes/{act_id}/reponses/{reply_id}",
                      {"kind": "reponse", "document": (io.BytesIO(make_pdf("Réponse du maire")), "reponse.pdf")},
                      content_type="multipart/form-data", csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302
    assert [a["fields"]["id"] for a in tdt.answers] == [["5001"]]
    # S²LOW's fields (Pastell): an answer is type_envoie 4 (3 is a refusal) and carries the type de pièce.
    assert tdt.answers[0]["fields"]["type_envoie"] == ["4"] and tdt.answers[0]["fields"]["type_acte"] == ["99_DE"]
    assert _act(app, act_id)["replies"][0][3] == "reponse"
    assert _poll(app)["replies"] == 0  # read documents are not taken twice

    # Cancellation.
    resp = mayor.post(f"/s/actes/{act_id}/annuler", {}, csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302 and tdt.cancelled == [tx_id]
    assert _act(app, act_id)["status"] == "cancelled"
    assert "Vote du budget primitif 2026" not in mayor.get(f"/p/actes/{world.insee_a}/").get_data(as_text=True)
    assert _audit_actions(app) == ["actes.act_created", "actes.act_sent", "actes.ar_received",
                                   "actes.reply_received", "actes.reply_answered", "actes.act_cancelled"]


def test_tdt_down_gives_error_with_reason_then_retry(app, login_as, deposit, tdt):
    mayor = login_as("mayor_a")
    tdt.down = True
    act_id = _deposit_and_send(mayor, deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "error" and "injoignable" in act["reason"] and act["tx"] is None
    assert "injoignable" in html.unescape(mayor.get(f"/s/actes/{act_id}").get_data(as_text=True))
    tdt.down = False
    assert mayor.post(f"/s/actes/{act_id}/renvoyer", {}, csrf_from=f"/s/actes/{act_id}").status_code == 302
    assert _act(app, act_id)["status"] == "posted" and len(tdt.transactions) == 1


def test_ko_answer_gives_error_with_the_tdt_s_reason(app, login_as, deposit, tdt):
    tdt.refuse = "Le certificat de l'utilisateur n'est pas autorisé pour cette collectivité"
    act_id = _deposit_and_send(login_as("mayor_a"), deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "error" and "n'est pas autorisé" in act["reason"] and not tdt.transactions


def test_a_certificate_the_tdt_does_not_know_is_refused_at_the_handshake(app, login_as, deposit, tdt, tdt_server):
    app.config["ACTES_TDT_CLIENT_CERT"] = str(tdt_server.paths.other_client)
    act_id = _deposit_and_send(login_as("mayor_a"), deposit, app)
    assert _act(app, act_id)["status"] == "error" and not tdt.transactions and tdt.handshake_failures


def test_basic_authentication_when_the_tdt_asks_for_it(app, login_as, deposit, tdt):
    tdt.basic = ("cd10", "mot-de-passe-du-tdt")
    mayor = login_as("mayor_a")
    first = _deposit_and_send(mayor, deposit, app)
    assert _act(app, first)["status"] == "error" and not tdt.transactions
    app.config.update(ACTES_TDT_LOGIN="cd10", ACTES_TDT_PASSWORD="mot-de-passe-du-tdt")
    second = _deposit_and_send(mayor, deposit, app, number="2026_015")
    assert _act(app, second)["status"] == "posted" and len(tdt.transactions) == 1


def test_a_worker_dying_mid_send_never_sends_twice(app, login_as, deposit, tdt):
    from portal.extensions import db
    from portal.models import utcnow
    from portal.tenancy import territory_scope
    from services.actes import transmission
    from services.actes.models import Act

    mayor = login_as("mayor_a")
    act_id = _deposit_and_send(mayor, deposit, app)
    assert len(tdt.transactions) == 1
    # The row as a worker leaves it when it dies after the TdT took the act but before its commit.
    with app.app_context(), territory_scope(None):
        a = db.session.get(Act, act_id)
        a.status, a.tdt_transaction_id, a.send_started_at = "queued", None, utcnow()
        db.session.commit()
        assert transmission.transmit(act_id) == "error"
    act = _act(app, act_id)
    assert "interrompue" in act["reason"] and len(tdt.transactions) == 1
    # Sending the same act again while it is queued does nothing either.
    with app.app_context(), territory_scope(None):
        assert transmission.transmit(act_id) == "error"
    assert len(tdt.transactions) == 1


def test_polling_backs_off_when_the_tdt_is_down(app, login_as, deposit, tdt):
    act_id = _deposit_and_send(login_as("mayor_a"), deposit, app)
    tdt.down = True
    _poll(app)
    first = _act(app, act_id)
    _poll(app)
    second = _act(app, act_id)
    assert first["status"] == second["status"] == "posted"
    assert (first["failures"], second["failures"]) == (1, 2)
    tdt.down = False
    tdt.transactions[first["tx"]]["status"] = 2
    _poll(app)
    assert _act(app, act_id)["status"] == "pending" and _act(app, act_id)["failures"] == 0


def test_individual_acts_are_never_published(app, world, login_as, deposit, tdt):
    mayor = login_as("mayor_a")
    act_id = _deposit_and_send(mayor, deposit, app, nature="3", matiere="4.1", act_piece_type="99_AI",
                               publication_kind="individual", subject="Nomination de M. Untel")
    tx = tdt.transactions[_act(app, act_id)["tx"]]
    day = legal_today()
    tx["status"], tx["ar"] = 4, acknowledgement(f"010-211000013-{day:%Y%m%d}-2026_014-AI", "2026_014",
                                                day.isoformat(), 3, day)
    _poll(app)
    act = _act(app, act_id)
    assert act["status"] == "acknowledged" and act["published_at"] is None
    assert "Nomination" not in mayor.get(f"/p/actes/{world.insee_a}/").get_data(as_text=True)
    assert mayor.get(f"/p/actes/{world.insee_a}/{act_id}.pdf").status_code == 404


def test_an_ar_announcing_a_newer_classification_makes_the_next_deposit_fetch_it(app, login_as, deposit, tdt):
    from services.actes.classification import default_xml

    mayor = login_as("mayor_a")
    act_id = _deposit_and_send(mayor, deposit, app)
    tx = tdt.transactions[_act(app, act_id)["tx"]]
    day = legal_today()
    tx["status"], tx["ar"] = 4, acknowledgement(f"010-211000013-{day:%Y%m%d}-2026_014-DE", "2026_014",
                                                day.isoformat(), 1, day, classification_in_force="2017-07-13")
    _poll(app)
    # The TdT still serves the old version: refused, with the dates.
    resp = deposit(mayor, number="2026_015")
    assert resp.status_code == 422 and 'data-rule="classification_outdated"' in resp.get_data(as_text=True)
    # The préfecture's new version is on the TdT: fetched again, the deposit passes.
    tdt.classification = default_xml().replace(b"2004-04-01", b"2017-07-13")
    assert deposit(mayor, number="2026_015").status_code == 302


def test_cancelling_before_the_ar_is_refused_with_s2low_s_reason(app, login_as, deposit, tdt):
    """S²LOW cancels only an act in « acquittement reçu »: its KO (ISO-8859-1) is shown, the act stays as it was."""
    mayor = login_as("mayor_a")
    act_id = _deposit_and_send(mayor, deposit, app)
    resp = mayor.post(f"/s/actes/{act_id}/annuler", {}, csrf_from=f"/s/actes/{act_id}", follow_redirects=True)
    assert "Acquittement reçu" in html.unescape(resp.get_data(as_text=True))
    assert _act(app, act_id)["status"] == "posted" and tdt.cancelled == []


def test_the_adapter_reads_s2low_s_answers(app, tdt, tdt_server):
    """KO messages in ISO-8859-1 or UTF-8, an error status with its message, an unknown transaction, a number the
    collectivity already used."""
    from services.actes import tdt as tdt_mod

    with app.app_context():
        conn = tdt_mod.connector()
        fields = {"nature_code": "1", "number": "2026_001", "subject": "Objet", "decision_date": "2026-01-05",
                  "classif1": "7", "classif2": "1", "type_acte": "99_DE", "en_attente": "0", "document_papier": "0"}
        first = conn.send(fields, [tdt_mod.FilePart("acte_pdf_file", "a.pdf", make_pdf())])
        assert first.isdigit()
        with pytest.raises(tdt_mod.TdtRefused, match="même numéro interne existe déjà"):
            conn.send(fields, [tdt_mod.FilePart("acte_pdf_file", "a.pdf", make_pdf())])
        with pytest.raises(tdt_mod.TdtRefused, match="typologie absente"):
            conn.send({**fields, "number": "2026_002", "type_acte": ""},
                      [tdt_mod.FilePart("acte_pdf_file", "a.pdf", make_pdf())])
        tdt.transactions[first]["status"], tdt.transactions[first]["error"] = -1, "Fichier refusé par la préfecture"
        st = conn.status(first)
        assert (st.code, st.status, st.detail) == (-1, "error", "Fichier refusé par la préfecture")
        tdt.transactions[first]["status"] = 7
        assert conn.status(first).status == "transmitted"
        with pytest.raises(tdt_mod.TdtRefused, match="Numéro de transaction invalide"):
            conn.status("999999")
        with pytest.raises(tdt_mod.TdtRefused, match="Acquittement reçu"):
            conn.cancel(first)
        tdt.transactions[first]["status"] = 4
        assert conn.cancel(first).isdigit() and tdt.cancelled == [first]
    assert tdt_mod.decode_message("Échec".encode("iso-8859-1")) == "Échec"
    assert tdt_mod.decode_message(b"l&#039;acte") == "l'acte"
    with pytest.raises(tdt_mod.TdtUnavailable):
        tdt_mod.archive_files(b"not an archive")

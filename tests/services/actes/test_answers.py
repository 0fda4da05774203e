"""Answering the préfecture's letters from the act's page, against the loopback S²LOW: a request for additional
documents answered with the documents (sent as attachments of the answer) or refused; a simple letter takes a
response only; a bad document is refused in French before anything leaves; the home panel lists the letters to
answer with their two-month date."""
from __future__ import annotations

import html
import io

from .fixtures import PNG, acknowledgement, make_pdf
from .test_transmission import _act, _audit_actions, _deposit_and_send, _poll
from tests.helpers.clock import legal_today


def _acknowledged_with_letter(app, mayor, deposit, tdt, kind: str, number="2026_014"):
    act_id = _deposit_and_send(mayor, deposit, app, number=number)
    tx_id = _act(app, act_id)["tx"]
    unique_id = f"010-211000013-{legal_today():%Y%m%d}-{number}-DE"
    tdt.transactions[tx_id].update(status=4, ar=acknowledgement(unique_id, number, legal_today().isoformat(), 1,
                                                                 legal_today()))
    tdt.documents.append({"id": f"50{len(tdt.documents)}", "type": kind, "related_transaction_id": tx_id,
                          "unique_id": unique_id, "number": number, "last_status_id": "21"})
    _poll(app)
    [(reply_id, _kind, due, _answered)] = _act(app, act_id)["replies"]
    return act_id, reply_id, due


def _page(client, url) -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


def test_request_for_documents_answered_with_the_documents(app, world, login_as, deposit, tdt):
    mayor = login_as("mayor_a")
    act_id, reply_id, due = _acknowledged_with_letter(app, mayor, deposit, tdt, "3")
    page = _page(mayor, f"/s/actes/{act_id}")
    assert "Demande de pièces complémentaires" in page and due.strftime("%d/%m/%Y") in page
    assert 'value="pieces"' in page and 'value="refus"' in page and 'value="reponse"' not in page
    home = _page(mayor, "/")
    assert "Courriers de la préfecture à traiter" in home and f"avant le {due:%d/%m/%Y}" in home

    url = f"/s/actes/{act_id}/reponses/{reply_id}"
    # The documents are missing: refused, nothing sent.
    resp = mayor.post(url, {"kind": "pieces", "document": (io.BytesIO(make_pdf("Lettre")), "lettre.pdf")},
                      content_type="multipart/form-data", csrf_from=f"/s/actes/{act_id}")
    assert "Ajoutez les pièces complémentaires demandées" in _page(mayor, f"/s/actes/{act_id}") and not tdt.answers
    # A document that is not what it says: refused in French, nothing sent.
    resp = mayor.post(url, {"kind": "pieces", "document": (io.BytesIO(make_pdf("Lettre")), "lettre.pdf"),
                            "pieces": [(io.BytesIO(b"MZ\x90\x00 not a plan"), "plan.png")]},
                      content_type="multipart/form-data", csrf_from=f"/s/actes/{act_id}")
    assert "Réponse\u00a0: " in _page(mayor, f"/s/actes/{act_id}") and not tdt.answers

    resp = mayor.post(url, {"kind": "pieces", "note": "Envoyé après appel du bureau du contrôle de légalité",
                            "document": (io.BytesIO(make_pdf("Lettre d'envoi des pieces")), "lettre.pdf"),
                            "pieces": [(io.BytesIO(make_pdf("Plan de financement")), "financement.pdf"),
                                       (io.BytesIO(PNG), "plan.png")]},
                      content_type="multipart/form-data", csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302
    [sent] = tdt.answers
    assert sent["fields"]["type_envoie"] == ["4"] and sent["fields"]["id"] == ["500"]  # S²LOW: 4 réponse or pièces
    assert sent["fields"]["type_pj[]"] == ["99_AU", "99_AU"] and sent["fields"]["type_acte"]
    assert [(name, fn) for name, fn, _d in sent["files"]] == [("acte_pdf_file", "lettre.pdf"),
                                                               ("acte_attachments[]", "financement.pdf"),
                                                               ("acte_attachments[]", "plan.png")]
    page = _page(mayor, f"/s/actes/{act_id}")
    assert "Envoyé après appel du bureau du contrôle de légalité" in page
    assert "Courriers de la préfecture à traiter" not in _page(mayor, "/")
    assert _audit_actions(app)[-1] == "actes.reply_answered"


def test_refusal_and_response_follow_the_kind_of_letter(app, world, login_as, deposit, tdt):
    mayor = login_as("mayor_a")
    act_id, reply_id, _due = _acknowledged_with_letter(app, mayor, deposit, tdt, "2")
    url = f"/s/actes/{act_id}/reponses/{reply_id}"
    letter = {"document": (io.BytesIO(make_pdf("Refus")), "refus.pdf")}
    mayor.post(url, {"kind": "refus", **letter}, content_type="multipart/form-data", csrf_from=f"/s/actes/{act_id}")
    assert "uniquement en réponse à une demande de pièces complémentaires" in _page(mayor, f"/s/actes/{act_id}")
    assert not tdt.answers and _act(app, act_id)["replies"][0][3] is None

    second, reply2, _due = _acknowledged_with_letter(app, mayor, deposit, tdt, "3", number="2026_020")
    resp = mayor.post(f"/s/actes/{second}/reponses/{reply2}",
                      {"kind": "refus", "document": (io.BytesIO(make_pdf("Refus motive")), "refus.pdf")},
                      content_type="multipart/form-data", csrf_from=f"/s/actes/{second}")
    assert resp.status_code == 302
    [sent] = tdt.answers
    # S²LOW: a refusal is type_envoie 3, with the letter only.
    assert sent["fields"]["type_envoie"] == ["3"] and [n for n, _f, _d in sent["files"]] == ["acte_pdf_file"]
    assert "Répondu le" in _page(mayor, f"/s/actes/{second}")

"""OCDS lots come with the Lots extension declared; the public list speaks French as French readers write it."""
from __future__ import annotations

import json

import jsonschema
import pytest

from .ocds_check import LOTS_EXTENSION, release_schema_with_lots, valid_release
from .test_documents_public_award import docx_text, odt_text


def test_ocds_release_package_declares_the_lots_extension_its_lots_come_from(app, published, client):
    mayor, tid = published
    package = client.get(f"/p/tenders/{tid}/ocds.json").get_json()
    assert LOTS_EXTENSION in package["extensions"]
    release = valid_release(package)
    assert release["tender"]["lots"] == [{"id": "1", "title": "Réfection de la toiture de l'église",
                                          "value": {"amount": 120000.0, "currency": "EUR"}}]
    # the extended schema really checks the lots: a lot without its id is refused
    broken = json.loads(json.dumps(release))
    del broken["tender"]["lots"][0]["id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(release_schema_with_lots()).validate(broken)
    staff = json.loads(mayor.get(f"/s/tenders/{tid}/ocds.json").data)
    assert valid_release(staff)["ocid"] == release["ocid"]


def test_public_filters_say_tous_les_acheteurs_and_toutes_les_natures(app, published, client):
    page = client.get("/p/tenders/").get_data(as_text=True)
    assert ">Tous les acheteurs</option>" in page and ">Toutes les natures</option>" in page
    assert ">Toutes</option>" not in page


def test_documents_write_a_no_break_space_before_colons_and_inside_guillemets(app, published, client):
    _mayor, tid = published
    texts = []
    for code in ("rc", "aapc", "ccap"):
        texts.append(docx_text(client.get(f"/p/tenders/{tid}/documents/{code}.docx").data))
        texts.append(odt_text(client.get(f"/p/tenders/{tid}/documents/{code}.odt").data))
    for text in texts:
        for bad in (" :", " ;", "« ", " »"):
            assert bad not in text, (bad, text[max(0, text.find(bad) - 60):text.find(bad) + 20])
    assert any("\u00a0:" in text for text in texts)


def test_amounts_are_written_with_french_separators(app, published, client):
    _mayor, tid = published
    page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "120\u202f000\u00a0€" in page

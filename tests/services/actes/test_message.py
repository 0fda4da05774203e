"""ACTES 1.1 messages: what we build is valid against actesv1_1.xsd (ISO-8859-1, the protocol's file names); every
shared sample is read; unknown or malformed messages are errors, not crashes; ``flask actes message FILE`` prints
JSON for operators."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from services.actes import message

from .fixtures import SAMPLES

FORM = message.ActForm(department="010", siren="211000024", decision_date=dt.date(2026, 3, 12), number="2026_014",
                       nature=1, nature_code="DE", matiere="7.1", subject="Budget primitif — vote à l'unanimité",
                       classification_date=dt.date(2004, 4, 1), annex_extensions=["pdf", "png"])


def test_the_form_we_build_is_valid_against_the_schema_and_iso_8859_1():
    xml = message.build_acte(FORM)
    assert xml.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert "à l'unanimité".encode("latin-1") in xml  # encoded as the protocol wants, not UTF-8
    assert message.schema_errors(xml) == []
    message.validate(xml)
    assert message.file_names(FORM) == {
        "form": "010-211000024-20260312-2026_014-DE-1-1_0.xml",
        "act": "010-211000024-20260312-2026_014-DE-1-1_1.pdf",
        "annexes": ["010-211000024-20260312-2026_014-DE-1-1_2.pdf", "010-211000024-20260312-2026_014-DE-1-1_3.png"]}
    read = message.read(xml)
    assert read.type == "Acte" and read.schema_valid
    assert read.identifiers["NumeroInterne"] == "2026_014" and read.identifiers["CodeMatiere"] == "7.1"


def test_validation_catches_what_the_schema_refuses():
    bad = message.ActForm(**{**FORM.__dict__, "subject": "x" * 501})
    with pytest.raises(message.MessageError, match="actesv1_1.xsd"):
        message.validate(message.build_acte(bad))


@pytest.mark.parametrize("name, kind, valid, expect", [
    ("045-214502494-20170717-D201717-DE-1-1_0.xml", "Acte", False, {"NumeroInterne": "D201717"}),
    ("034-000000000-20170701-20170721D-AI-1-2_0.xml", "ARActe", False,
     {"IDActe": "034-000000000-20170701-20170721D-AI"}),
    ("EACT--214502494--20170717-6.xml", "EnveloppeCLMISILL", True, {"SIREN": "214502494", "Departement": "045"}),
    ("TACT--SPREF0011-000000000-20170725-1.xml", "EnveloppeMISILLCL", True, {"SIREN": "000000000"}),
])
def test_every_shared_sample_is_read(name, kind, valid, expect):
    msg = message.read((SAMPLES / name).read_bytes())
    assert msg.type == kind
    assert msg.schema_valid is valid  # the S²LOW samples predate the revision that made DocumentPapier mandatory
    for key, value in expect.items():
        assert msg.identifiers[key] == value


def test_the_acknowledgement_gives_its_dates():
    msg = message.read((SAMPLES / "034-000000000-20170701-20170721D-AI-1-2_0.xml").read_bytes())
    assert msg.dates["DateReception"] == "2017-07-21"
    assert msg.dates["ClassificationDateVersionEnCours"] == "2008-12-31"
    assert msg.files == ["034-000000000-20170701-20170721D-AI-1-1_1.pdf"]


@pytest.mark.parametrize("data, reason", [
    (b"", "well-formed"),
    (b"<actes:Acte xmlns:actes='http://www.interieur.gouv.fr/ACTES#v1.1-20040216'>", "well-formed"),
    (b"<?xml version='1.0'?><Acte/>", "namespace"),
    (b"<x:Bulletin xmlns:x='http://www.interieur.gouv.fr/ACTES#v1.1-20040216'/>", "unknown"),
    (b"<!DOCTYPE a [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><a>&e;</a>", "namespace"),
])
def test_unknown_or_malformed_messages_are_errors(data, reason):
    with pytest.raises(message.MessageError, match=reason):
        message.read(data)


def test_cli_prints_what_a_message_holds(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["actes", "message", str(SAMPLES / "034-000000000-20170701-20170721D-AI-1-2_0.xml")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["type"] == "ARActe" and data["identifiers"]["IDActe"] == "034-000000000-20170701-20170721D-AI"
    assert data["dates"]["DateReception"] == "2017-07-21"
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<not-closed")
    result = runner.invoke(args=["actes", "message", str(broken)])
    assert result.exit_code == 1 and "well-formed" in json.loads(result.output)["error"]

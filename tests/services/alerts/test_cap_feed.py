"""CAP 1.2 documents (validated against the OASIS XSD shipped with the service) and the Atom feed per commune."""
from pathlib import Path

from lxml import etree

from services.alerts import cap

from .conftest import SAFETY, add_subscriber

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "cap"  # tests/data/cap, shipped with the repository


def test_the_shipped_xsd_accepts_the_oasis_example_and_real_french_alerts_and_refuses_a_broken_one():
    assert cap.validate((SAMPLES / "oasis-cap-amber-alert-example.xml").read_bytes()) == []
    assert cap.validate((SAMPLES / "tg-valid.xml").read_bytes()) == []
    broken = (SAMPLES / "oasis-cap-amber-alert-example.xml").read_bytes().replace(b"<status>Actual",
                                                                                 b"<status>Maybe")
    assert cap.validate(broken)
    # The shipped schema is the OASIS file, unmodified (IBM/cap resources/CAP-v1.2.xsd, see tests/data/cap).
    import hashlib

    assert hashlib.sha256(cap.XSD_PATH.read_bytes()).hexdigest() == \
        "b7798ef25868b068c97b268bda02d067c7d4ba9373adc5638bf37105804ee723"


def test_cap_tests_read_no_path_outside_the_repository():
    """A fresh clone has no shared data folder beside it: every file the alerts tests open is in the repository,
    with its origin and licence."""
    repo = Path(__file__).resolve().parents[3]
    assert (SAMPLES / "SOURCES.md").is_file()
    for name in ("oasis-cap-amber-alert-example.xml", "tg-valid.xml"):
        assert name in (SAMPLES / "SOURCES.md").read_text()
    for source in Path(__file__).parent.glob("*.py"):
        text = source.read_text()
        for outside in ("/work/", "../shared", "shared/data"):
            assert outside not in text.replace('"' + outside + '"', ""), (source.name, outside)
    assert SAMPLES.resolve().is_relative_to(repo)


def test_cap_writes_utc_as_minus_zero_as_the_cap_specification_asks():
    """CAP 1.2 §3.3.2: « The timezone UTC is represented as "-00:00" » (the real Togo alert does so too)."""
    import datetime as dt

    assert cap.cap_time(dt.datetime(2026, 12, 7, 3, 4, 5)) == "2026-12-07T03:04:05-00:00"
    paris = dt.timezone(dt.timedelta(hours=1))
    assert cap.cap_time(dt.datetime(2026, 12, 7, 4, 4, 5, 999, tzinfo=paris)) == "2026-12-07T03:04:05-00:00"
    assert b"<sent>2024-06-06T15:15:00-00:00</sent>" in (SAMPLES / "tg-valid.xml").read_bytes()


def _send(mayor, safety, title, body, severity="severe"):
    url = "/s/alerts/alertes/nouvelle"
    resp = mayor.post(url, {"title": title, "body": body, "severity": severity, "channels": "email",
                            "lists": str(safety), "send": "1"}, csrf_from=url)
    assert resp.status_code == 302
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def test_each_list_alert_is_valid_cap_and_in_the_atom_feed(app, world, alerts_world, smtp, login_as):
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="riverain@example.org")
    mayor = login_as("mayor_a")
    alert_id = _send(mayor, safety, "Crue de l'Aube", "Montée des eaux : évacuez les caves & garages <vite>.")
    anonymous = app.test_client()
    resp = anonymous.get(f"/p/alerts/{insee}/alertes/{alert_id}.cap")
    assert resp.status_code == 200 and resp.mimetype == "application/cap+xml"
    xml = resp.get_data()
    assert cap.validate(xml) == []
    doc = etree.fromstring(xml)
    ns = {"c": cap.CAP_NS}
    assert doc.findtext("c:info/c:severity", namespaces=ns) == "Severe"
    assert doc.findtext("c:info/c:language", namespaces=ns) == "fr-FR"
    assert doc.findtext("c:info/c:headline", namespaces=ns) == "Crue de l'Aube"
    assert "<vite>" in doc.findtext("c:info/c:description", namespaces=ns)
    assert doc.findtext("c:info/c:area/c:areaDesc", namespaces=ns) == "Ailleville"
    assert doc.findtext("c:info/c:area/c:geocode/c:value", namespaces=ns) == insee
    assert doc.findtext("c:sent", namespaces=ns).endswith("-00:00")
    feed = anonymous.get(f"/p/alerts/{insee}/flux.atom")
    assert feed.mimetype == "application/atom+xml"
    atom = etree.fromstring(feed.get_data())
    a = {"a": cap.ATOM_NS}
    entries = atom.findall("a:entry", a)
    assert [e.findtext("a:title", namespaces=a) for e in entries] == ["Crue de l'Aube"]
    links = [lnk.get("href") for lnk in entries[0].findall("a:link", a)]
    assert any(h.endswith(f"/alertes/{alert_id}.cap") for h in links)
    # The feed and pages carry no personal data.
    assert b"riverain@example.org" not in feed.get_data() and b"riverain@example.org" not in xml


def test_individual_and_test_messages_are_never_published(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import Alert, utcnow

    insee = world.insee_a
    with app.app_context():
        a = Alert(commune_insee=insee, kind="individual", title="Votre carte d'identité est arrivée", body="x",
                  channels=["email"], list_ids=[], status="queued", sent_at=utcnow())
        db.session.add(a)
        db.session.commit()
        aid = a.id
    anonymous = app.test_client()
    assert anonymous.get(f"/p/alerts/{insee}/alertes/{aid}.cap").status_code == 404
    assert anonymous.get(f"/p/alerts/{insee}/alertes/{aid}").status_code == 404
    assert b"carte d" not in anonymous.get(f"/p/alerts/{insee}/flux.atom").get_data()


def test_a_commune_without_the_service_has_no_public_page(app, world, alerts_world):
    anonymous = app.test_client()
    assert anonymous.get("/p/alerts/10160/").status_code == 404  # Fravaux: no convention
    assert anonymous.get("/p/alerts/99999/flux.atom").status_code == 404

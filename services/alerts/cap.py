"""Public formats of list alerts: OASIS CAP 1.2 (validated against the shipped XSD) and an Atom feed per commune."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from lxml import etree

from portal.typography import de

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
XSD_PATH = Path(__file__).parent / "data" / "CAP-v1.2.xsd"

CAP_SEVERITY = {"info": "Minor", "minor": "Minor", "moderate": "Moderate", "severe": "Severe", "extreme": "Extreme"}
CAP_URGENCY = {"info": "Future", "minor": "Expected", "moderate": "Expected", "severe": "Immediate",
               "extreme": "Immediate"}


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def validate(xml: bytes) -> list[str]:
    """Errors of a CAP document against CAP-v1.2.xsd (empty list: valid)."""
    s = schema()
    doc = etree.fromstring(xml)
    if s.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in s.error_log]


def cap_time(value: dt.datetime) -> str:
    """CAP date-time: no fractional seconds, explicit offset (the stored values are naive UTC). CAP 1.2 §3.3.2 writes
    UTC as ``-00:00``, never ``+00:00``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def _sub(parent, tag, text=None, ns=CAP_NS):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = text
    return el


CAP_MSG_TYPES = {"alert": "Alert", "update": "Update", "cancel": "Cancel"}


def cap_identifier(sender: str, alert) -> str:
    return f"{sender}:{alert.identifier}"


def cap_sent(alert) -> str:
    return cap_time(alert.sent_at or alert.scheduled_at or alert.created_at)


def reference(sender: str, alert) -> str:
    """One entry of CAP <references>: "sender,identifier,sent" of the earlier message (CAP 1.2 §3.2.1)."""
    return f"{sender},{cap_identifier(sender, alert)},{cap_sent(alert)}"


def cap_polygon(zone: dict | None) -> str | None:
    """A drawn zone (GeoJSON polygon, lon/lat) as a CAP <polygon>: "lat,lon" pairs, first and last the same."""
    if not zone or zone.get("type") != "Polygon":
        return None
    ring = [(float(lon), float(lat)) for lon, lat in zone["coordinates"][0]]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        return None
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring)


def build_cap(alert, *, sender: str, commune: str, web: str, lists: list[str], references: list[str] = ()) -> bytes:
    """The CAP 1.2 message of a list alert. ``alert.msg_type`` "update" or "cancel" gives msgType Update / Cancel,
    with ``references`` (see :func:`reference`) naming the earlier message(s)."""
    msg_type = CAP_MSG_TYPES.get(getattr(alert, "msg_type", None) or "alert", "Alert")
    if msg_type != "Alert" and not references:
        raise ValueError(f"a CAP {msg_type} needs the reference of the earlier message")
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", cap_identifier(sender, alert))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_sent(alert))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if msg_type != "Alert":
        _sub(root, "references", " ".join(references))
    info = _sub(root, "info")
    _sub(info, "language", "fr-FR")
    _sub(info, "category", "Safety" if alert.severity in ("severe", "extreme") else "Other")
    _sub(info, "event", ", ".join(lists) or alert.title)
    if msg_type == "Cancel":
        _sub(info, "responseType", "AllClear")
    _sub(info, "urgency", "Past" if msg_type == "Cancel" else CAP_URGENCY.get(alert.severity, "Unknown"))
    _sub(info, "severity", CAP_SEVERITY.get(alert.severity, "Unknown"))
    _sub(info, "certainty", "Observed" if alert.severity in ("severe", "extreme") else "Likely")
    _sub(info, "senderName", f"Mairie {de(commune)}")
    _sub(info, "headline", alert.title[:160])
    _sub(info, "description", alert.body)
    _sub(info, "web", web)
    area = _sub(info, "area")
    _sub(area, "areaDesc", commune)
    polygon = cap_polygon(getattr(alert, "zone", None))
    if polygon:
        _sub(area, "polygon", polygon)
    geocode = _sub(area, "geocode")
    _sub(geocode, "valueName", "INSEE")
    _sub(geocode, "value", alert.commune_insee)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_atom(*, feed_url: str, page_url: str, commune: str, insee: str, entries: list[dict],
               updated: dt.datetime | None) -> bytes:
    """entries: dicts with id, title, summary, updated (datetime), link (HTML page), cap (CAP document URL)."""
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _sub(root, "id", f"{feed_url}", ATOM_NS)
    _sub(root, "title", f"Alertes de la mairie {de(commune)}", ATOM_NS)
    _sub(root, "updated", (updated or dt.datetime(2000, 1, 1)).replace(microsecond=0).isoformat() + "Z", ATOM_NS)
    author = _sub(root, "author", None, ATOM_NS)
    _sub(author, "name", f"Mairie {de(commune)}", ATOM_NS)
    link = _sub(root, "link", None, ATOM_NS)
    link.set("rel", "self")
    link.set("href", feed_url)
    alt = _sub(root, "link", None, ATOM_NS)
    alt.set("rel", "alternate")
    alt.set("href", page_url)
    for e in entries:
        entry = _sub(root, "entry", None, ATOM_NS)
        _sub(entry, "id", e["id"], ATOM_NS)
        _sub(entry, "title", e["title"], ATOM_NS)
        _sub(entry, "updated", e["updated"].replace(microsecond=0).isoformat() + "Z", ATOM_NS)
        _sub(entry, "summary", e["summary"], ATOM_NS)
        for rel, href, typ in (("alternate", e["link"], "text/html"),
                               ("alternate", e["cap"], "application/cap+xml")):
            el = _sub(entry, "link", None, ATOM_NS)
            el.set("rel", rel)
            el.set("href", href)
            el.set("type", typ)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

"""Base Adresse Nationale: import of a commune's address points (legacy BAN CSV or BAL 1.3), search by address,
addresses of a parcel. All-or-nothing import with a per-line report; a new import replaces the commune's points.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import delete, select

from portal import audit
from portal.extensions import db
from portal.models import fold

from .geometry import point_to_l93
from .problems import ImportFailed
from .readers import IDU_RE
from .models import Address
from .problems import N_
from .textfile import decode_csv

# Column names of the two layouts: (number, suffix, street, insee, postcode, lon, lat, id, parcels)
LAYOUTS = {
    "ban": ("numero", "rep", "nom_voie", "code_insee", "code_post", "lon", "lat", "id", None),
    "bal": ("numero", "suffixe", "voie_nom", "commune_insee", None, "long", "lat", "cle_interop", "cad_parcelles"),
}


@dataclass
class AddressReport:
    commune: str
    rows: int
    with_parcels: int
    replaced: int
    layout: str

    def lines(self):
        return [f"commune {self.commune}: {self.rows} addresses ({self.layout} layout), {self.with_parcels} with a "
                f"parcel reference (replacing {self.replaced})"]



def parse(raw: bytes, commune: str | None):
    text = decode_csv(raw)
    if not text.strip():
        raise ImportFailed([N_("the file is empty")])
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    header = set(reader.fieldnames or [])
    layout = next((name for name, cols in LAYOUTS.items() if {c for c in cols if c} <= header), None)
    if layout is None:
        raise ImportFailed([N_("line 1: neither the BAN CSV layout (id;nom_voie;numero;rep;code_insee;code_post;lon;lat…) "
                            "nor BAL 1.3 (cle_interop;commune_insee;voie_nom;numero;suffixe;long;lat;cad_parcelles…)")])
    num_c, suf_c, street_c, insee_c, cp_c, lon_c, lat_c, id_c, parcels_c = LAYOUTS[layout]
    rows, errors, communes = [], [], set()
    for n, rec in enumerate(reader, start=2):
        problems = []
        insee = (rec.get(insee_c) or "").strip()
        if commune and insee != commune:
            problems.append(N_("commune %(value)r is not %(commune)s", value=insee, commune=commune))
        try:
            lon, lat = float(rec.get(lon_c) or ""), float(rec.get(lat_c) or "")
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError
        except ValueError:
            problems.append(N_("%(lon)s/%(lat)s are not WGS84 coordinates", lon=lon_c, lat=lat_c))
            lon = lat = None
        street = (rec.get(street_c) or "").strip()
        if not street:
            problems.append(N_("%(column)s is empty", column=street_c))
        parcels = []
        if parcels_c and rec.get(parcels_c):
            parcels = [p.strip().upper() for p in rec[parcels_c].split("|") if p.strip()]
            bad = [p for p in parcels if not IDU_RE.match(p)]
            if bad:
                problems.append(N_("%(column)s holds malformed parcel ids %(ids)s", column=parcels_c, ids=", ".join(bad)))
        if problems:
            errors.append(N_("line %(n)s: %(problems)s", n=n, problems=problems))
            continue
        communes.add(insee)
        number = ((rec.get(num_c) or "").strip() + " " + (rec.get(suf_c) or "").strip()).strip()
        number = "" if number in ("99999", "0") else number  # BAN's "lieu-dit without number"
        postcode = (rec.get(cp_c) or "").strip() if cp_c else ""
        label = " ".join(x for x in (number, street[:1].upper() + street[1:]) if x)
        x, y = point_to_l93(lon, lat)
        rows.append({"commune_insee": insee, "ban_id": (rec.get(id_c) or "")[:60], "number": number[:12],
                     "street": street[:200], "postcode": postcode[:5], "label": label[:300],
                     "search_label": fold(label)[:300], "parcels": "|".join(parcels)[:300],
                     "x": x, "y": y, "lon": lon, "lat": lat})
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([N_("the file has a header but no line")])
    if len(communes) > 1:
        raise ImportFailed([N_("the file holds addresses of several communes (%(communes)s): import one commune at a time",
                               communes=", ".join(sorted(communes)))])
    return rows, layout, communes.pop()


def import_addresses(raw: bytes, commune: str | None = None, *, allowed_communes=None, user=None,
                     on_success=None) -> AddressReport:
    from portal.models import Collectivity

    rows, layout, insee = parse(raw, commune)
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None:
        raise ImportFailed([N_("commune %(insee)s is not in the collectivity table of this portal", insee=insee)])
    if allowed_communes is not None and insee not in allowed_communes:
        raise ImportFailed([N_("commune %(insee)s is outside the territory you administer", insee=insee)])
    try:
        replaced = db.session.execute(delete(Address).where(Address.commune_insee == insee)).rowcount or 0
        db.session.execute(Address.__table__.insert(), rows)
        audit.record("cadastre.addresses.import", target_type="Collectivity", target_id=coll.id, collectivity=coll,
                     user=user, rows=len(rows), layout=layout)
        report = AddressReport(insee, len(rows), sum(1 for r in rows if r["parcels"]), replaced, layout)
        if on_success is not None:
            on_success(report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def search(q: str, limit: int = 50):
    words = fold(q).split()
    if not words:
        return []
    stmt = select(Address)
    for w in words:
        stmt = stmt.where(Address.search_label.contains(w))
    return db.session.scalars(stmt.order_by(Address.street, Address.number).limit(limit)).all()


def parcel_of(address):
    """The current parcel of an address: its BAL reference, else the parcel under the point."""
    from . import spatial
    from .models import Parcel

    if address.parcels:
        p = db.session.scalar(select(Parcel).where(Parcel.idu.in_(address.parcels.split("|")),
                                                   Parcel.current.is_(True)).order_by(Parcel.idu))
        if p is not None:
            return p
    return spatial.parcel_at(address.x, address.y)


def addresses_of(parcel):
    minx, miny, maxx, maxy = parcel.geom.bounds
    import shapely

    near = db.session.scalars(select(Address).where(
        Address.commune_insee == parcel.commune_insee, Address.x.between(minx, maxx), Address.y.between(miny, maxy))).all()
    found = [a for a in near if parcel.geom.covers(shapely.Point(a.x, a.y))]
    refs = db.session.scalars(select(Address).where(Address.parcels.contains(parcel.idu))).all()
    seen, out = set(), []
    for a in found + refs:
        if a.id not in seen:
            seen.add(a.id)
            out.append(a)
    return sorted(out, key=lambda a: (a.street, a.number))

"""Polling stations from INSEE's REU open data (« Bureaux de vote et adresses de leurs électeurs »).

The table of addresses gives, for each geocoded point, the bureau (``id_brut_bv_reu`` = ``{commune}_{code}``) and
the number of electors' addresses there. A bureau's location is the centroid of its points weighted by that number.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).parent / "data" / "reu-adresses-bv-29039-29116.csv"


@dataclass
class ReuBureau:
    commune_insee: str
    number: str
    latitude: float
    longitude: float
    points: int
    addresses: int


def bureaux_from_reu(text: str, commune_insee: str) -> list[ReuBureau]:
    acc: dict[str, list[float]] = {}
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id_brut_bv_reu", "code_commune_ref", "longitude", "latitude", "nb_adresses"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"not a REU address table: missing columns {sorted(missing)}")
    for row in reader:
        if row["code_commune_ref"] != commune_insee:
            continue
        try:
            lon, lat, n = float(row["longitude"]), float(row["latitude"]), int(row["nb_adresses"] or 0)
        except ValueError:
            continue
        number = row["id_brut_bv_reu"].split("_", 1)[1]
        a = acc.setdefault(number, [0.0, 0.0, 0, 0])
        a[0] += lat * n
        a[1] += lon * n
        a[2] += 1
        a[3] += n
    out = [ReuBureau(commune_insee, number, round(a[0] / a[3], 6), round(a[1] / a[3], 6), a[2], a[3])
           for number, a in acc.items() if a[3]]
    return sorted(out, key=lambda b: (len(b.number), b.number))

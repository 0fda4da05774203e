"""Vintages (millésimes) of a commune's plan: which label a new import gets, and what changed against the current one.
"""
from __future__ import annotations

import re
from pathlib import Path

import shapely

from .readers import VINTAGE_RE

# Beyond this, an id kept from one vintage to the next is "reshaped": the symmetric difference of the two shapes.
RESHAPE_TOLERANCE_M2 = 1.0
RESHAPE_TOLERANCE_RATIO = 0.001


MILLESIME_RE = re.compile(r"(?:^|[-_])((?:19|20)\d\d-(?:0[1-9]|1[0-2]))-\d\d(?:$|[-_.])")


def etalab_millesime(paths) -> str | None:
    """The vintage Etalab published the files as (its millésime, the date of the distribution), when the paths tell
    it: ``…/etalab-cadastre/2024-10-01/geojson/communes/10/10002/cadastre-10002-parcelles.json.gz`` as mirrored from
    cadastre.data.gouv.fr, or a date in the file name. None when absent or when the files disagree."""
    found = set()
    for path in paths:
        parts = Path(path).parts
        dates = [m.group(1) for part in parts if (m := MILLESIME_RE.search(part))]
        if dates:
            found.add(dates[-1])
    return found.pop() if len(found) == 1 else None


def vintage_from_dates(values) -> str | None:
    best = None
    for v in values:
        s = re.sub(r"[^0-9]", "", str(v or ""))
        if len(s) >= 6 and s[:2] in ("19", "20"):
            label = f"{s[:4]}-{s[4:6]}"
            if VINTAGE_RE.match(label) and (best is None or label > best):
                best = label
    return best


def compare(previous: dict[str, object], new: dict[str, object]) -> dict:
    """Counts of added, removed, reshaped and renumbered parcels between two {idu: geometry} maps."""
    old_ids, new_ids = set(previous), set(new)
    removed = old_ids - new_ids
    added = new_ids - old_ids
    reshaped = 0
    for i in old_ids & new_ids:
        a, b = previous[i], new[i]
        diff = shapely.symmetric_difference(a, b).area
        if diff > max(RESHAPE_TOLERANCE_M2, RESHAPE_TOLERANCE_RATIO * max(a.area, b.area)):
            reshaped += 1
    pairs = []
    if removed and added:
        tree_ids = sorted(added)
        tree = shapely.STRtree([new[i] for i in tree_ids])
        for old in sorted(removed):
            g = previous[old]
            for j in tree.query(g, predicate="intersects"):
                cand = new[tree_ids[j]]
                union = shapely.union(g, cand).area
                if union and shapely.intersection(g, cand).area / union > 0.98:
                    pairs.append((old, tree_ids[j]))
                    break
    renamed_old = {a for a, _ in pairs}
    renamed_new = {b for _, b in pairs}
    return {"added": len(added - renamed_new), "removed": len(removed - renamed_old), "reshaped": reshaped,
            "renumbered": len(pairs), "renumbered_pairs": pairs[:200]}


# Writing -----------------------------------------------------------------------------------------------------------

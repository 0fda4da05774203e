"""The CPV (Common Procurement Vocabulary, Regulation (EC) No 213/2008) as shipped data: search, labels, validation.

The list lives in ``data/cpv.csv.gz`` (columns ``code,check,label,level,label_checked``; see ``data/ATTRIBUTION.md``
for what it holds today and where it comes from). A department that has the official EU file can load the whole
nomenclature with ``flask tenders cpv-import FILE``: the file is checked line by line (all or nothing) and written
to ``TENDERS_CPV_FILE`` (default ``instance/tenders/cpv.csv.gz``), which then replaces the shipped list.

Check digit. The ninth digit of a CPV code (``45261000-4``) is, for most codes of the official file, the last digit
of the sum of the eight digits weighted 3, 7, 1, 3, 7, 1, 3, 7, less 4 for the sub-codes of division 09. Not for all:
439 of the 9 454 published digits differ from it (45233139-3, part of group 033, 31711154-0…). So the digit of a code
in the list is the list's own, published one; :func:`check_digit` only decides for a code the list lacks.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

from portal.settings import setting

SHIPPED = Path(__file__).parent / "data" / "cpv.csv.gz"
WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)
CODE_RE = re.compile(r"^\s*([0-9]{8})(?:\s*-\s*([0-9]))?\s*$")
LEVELS = ("division", "group", "class", "category", "subcategory", "stopgap")


@dataclass(frozen=True)
class Entry:
    code: str  # 8 digits
    check: str  # the ninth digit
    label: str  # French
    level: str
    label_checked: bool
    folded: str  # label without accents, lower case, for the search

    @property
    def full(self) -> str:
        return f"{self.code}-{self.check}"


def fold(text: str) -> str:
    """Lower case without accents or apostrophe variants: « Déneigement » and « deneigement » are the same word."""
    norm = unicodedata.normalize("NFKD", (text or "").replace("\u2019", "'"))
    return "".join(c for c in norm if not unicodedata.combining(c)).lower()


def check_digit(code8: str) -> str:
    """The ninth digit of an 8-digit CPV code (see the module's docstring for the rule and its one exception)."""
    total = sum(int(d) * w for d, w in zip(code8, WEIGHTS))
    if code8.startswith("09") and code8 != "09000000":
        total -= 4
    return str(total % 10)


def level_of(code8: str) -> str:
    """Division (XX000000), group (XXX00000), class (XXXX0000), category (XXXXX000) or a finer subdivision."""
    zeros = len(code8) - len(code8.rstrip("0"))
    return {6: "division", 5: "group", 4: "class", 3: "category"}.get(min(zeros, 6), "subcategory")


def _file() -> Path:
    if has_app_context():
        configured = setting("TENDERS_CPV_FILE")
        path = Path(configured) if configured else Path(current_app.instance_path) / "tenders" / "cpv.csv.gz"
        if path.is_file():
            return path
    return SHIPPED


def read_rows(data: bytes) -> list[Entry]:
    text = gzip.decompress(data).decode("utf-8")
    return [Entry(r["code"], r["check"], r["label"], r["level"], r["label_checked"] == "1", fold(r["label"]))
            for r in csv.DictReader(io.StringIO(text))]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[list[Entry], dict[str, Entry]]:
    rows = read_rows(Path(path).read_bytes())
    return rows, {e.code: e for e in rows}


def entries() -> tuple[list[Entry], dict[str, Entry]]:
    path = _file()
    return _load(str(path), path.stat().st_mtime)


def is_complete() -> bool:
    """True when the loaded list is the whole nomenclature (an imported official file), not the shipped subset."""
    rows, _index = entries()
    return len(rows) > 9000


def get(code: str) -> Entry | None:
    m = CODE_RE.match(code or "")
    return entries()[1].get(m.group(1)) if m else None


def label(code: str) -> str:
    """The French label of a code; for a code the list lacks, its division's label marked as such."""
    m = CODE_RE.match(code or "")
    if not m:
        return ""
    index = entries()[1]
    if m.group(1) in index:
        return index[m.group(1)].label
    division = index.get(m.group(1)[:2] + "000000")
    return f"{division.label} (division {m.group(1)[:2]})" if division else ""


def normalise(raw: str) -> tuple[str | None, str | None]:
    """``(code, None)`` with the code written ``NNNNNNNN-C``, or ``(None, reason)`` where the reason is a key of
    :data:`PROBLEMS` (the caller words it in French)."""
    m = CODE_RE.match(raw or "")
    if not m:
        return None, "format"
    code8, given = m.group(1), m.group(2)
    known = entries()[1].get(code8)
    if known is None and code8[:2] + "000000" not in entries()[1]:
        return None, "division"
    expected = known.check if known else check_digit(code8)
    if given is not None and given != expected:
        return None, "check"
    return f"{code8}-{expected}", None


def search(q: str, limit: int = 20) -> list[Entry]:
    """Codes whose number starts with the digits typed, or whose label holds every word typed (accents ignored);
    whole-word and shorter (more general) labels first."""
    rows, _index = entries()
    q = (q or "").strip()
    digits = re.sub(r"[\s-]", "", q)
    if digits.isdigit():
        return [e for e in rows if e.code.startswith(digits[:8])][:limit]
    words = [w for w in re.split(r"[\s,;']+", fold(q)) if len(w) > 1]
    if not words:
        return rows[:limit]
    found = [e for e in rows if all(w in e.folded for w in words)]

    def rank(e: Entry):
        whole = sum(1 for w in words if re.search(rf"\b{re.escape(w)}\b", e.folded))
        return (-whole, not e.folded.startswith(words[0]), len(e.label), e.code)

    return sorted(found, key=rank)[:limit]


# The official EU file (cpv_2008 "CODE" column and one column per language) → our CSV ---------------------------

def convert(text: str) -> tuple[bytes, list[str], int]:
    """Read a CSV export of the official CPV 2008 file (separator ``;`` or ``,``; a ``CODE`` column such as
    ``45261000-4`` and a ``FR`` column) → ``(gzipped CSV, errors, rows read)``. Nothing is written when there is an
    error: each rejected line is reported with its number."""
    sample = text[:2000]
    dialect = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    fields = {(f or "").strip().upper(): f for f in (reader.fieldnames or [])}
    if "CODE" not in fields or "FR" not in fields:
        return b"", ["the file has no CODE and FR columns (header: %s)" % ", ".join(fields)], 0
    errors, out, seen = [], [], set()
    for n, row in enumerate(reader, start=2):
        raw, fr = (row.get(fields["CODE"]) or "").strip(), (row.get(fields["FR"]) or "").strip()
        m = CODE_RE.match(raw)
        if not m or m.group(2) is None:
            errors.append(f"line {n}: code {raw!r} is not NNNNNNNN-C")
            continue
        if not fr:
            errors.append(f"line {n}: code {raw} has no French label")
            continue
        if m.group(1) in seen:
            errors.append(f"line {n}: code {raw} appears twice")
            continue
        seen.add(m.group(1))
        out.append((m.group(1), m.group(2), fr, level_of(m.group(1)), "1"))
    if errors:
        return b"", errors, len(out) + len(errors)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "check", "label", "level", "label_checked"])
    w.writerows(sorted(out))
    return gzip.compress(buf.getvalue().encode("utf-8"), mtime=0), [], len(out)

"""Import from the old software or a spreadsheet (CSV or XLSX), all or nothing, with a report for every line.

The layout (first row: the column names below, in any order; unknown columns are ignored; one line per deceased, or
per emplacement when nobody rests there; the lines of one emplacement repeat its concession and holder):

=====================  ===========================================================================================
column                 content
=====================  ===========================================================================================
cimetiere              name of the cemetery (created if new) — required
zone, allee            zone and allée (created if new) — required
emplacement            number of the emplacement in its allée — required
type_emplacement       concession, terrain commun, columbarium, cavurne, enfeu, ossuaire, jardin du souvenir
                       (default concession)
places                 places of the emplacement (``2``, ``0,4`` for a columbarium case of four urns)
concession_numero      number of the title
concession_type        temporaire, trentenaire, cinquantenaire, perpetuelle (empty: no concession)
duree                  years, for a temporaire (5 to 15)
debut, fin             start and end of the concession (jj/mm/aaaa); ``fin`` defaults to start + duration
prix                   price paid (``150,00``)
titulaire_nom, titulaire_prenoms, titulaire_adresse, titulaire_code_postal, titulaire_commune, titulaire_telephone,
titulaire_courriel     the holder (concessionnaire)
defunt_nom, defunt_nom_naissance, defunt_prenoms, defunt_naissance, defunt_deces, defunt_inhumation
                       the deceased and the date of the burial
defunt_mode            cercueil, urne or reduction (default cercueil)
=====================  ===========================================================================================

:func:`run` checks and writes every line in the request's transaction; the caller commits only when the report has
no error (the preview runs it too, then rolls back: what it shows is exactly what the import would do).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.extensions import db

from . import operations, rules
from .models import Alley, Cemetery, Deceased, Operation, Plot, Zone
from .operations import Refused

log = logging.getLogger(__name__)

COLUMNS = ("cimetiere", "zone", "allee", "emplacement", "type_emplacement", "places", "concession_numero",
           "concession_type", "duree", "debut", "fin", "prix", "titulaire_nom", "titulaire_prenoms",
           "titulaire_adresse", "titulaire_code_postal", "titulaire_commune", "titulaire_telephone",
           "titulaire_courriel", "defunt_nom", "defunt_nom_naissance", "defunt_prenoms", "defunt_naissance",
           "defunt_deces", "defunt_inhumation", "defunt_mode")
REQUIRED = ("cimetiere", "zone", "allee", "emplacement")
PLOT_KINDS = {"concession": "concession", "terrain commun": "common_ground", "columbarium": "columbarium",
              "case de columbarium": "columbarium", "cavurne": "cavurne", "enfeu": "enfeu", "ossuaire": "ossuary",
              "jardin du souvenir": "garden"}
CONCESSION_KINDS = {"temporaire": "temporary", "trentenaire": "thirty", "cinquantenaire": "fifty",
                    "perpetuelle": "perpetual"}
MODES = {"cercueil": "coffin", "urne": "urn", "reduction": "reduction"}


class ImportFileError(ValueError):
    """The file cannot be read as a table; French message."""


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().lower()
    return " ".join(text.replace("_", " ").split())


def read_table(data: bytes, kind: str) -> list[dict]:
    """The rows of a CSV (``;`` or ``,``, UTF-8 or Windows-1252) or of the first sheet of an XLSX, as dicts keyed by
    the layout's column names."""
    if kind == "xlsx":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            log.info("cemetery import: unreadable xlsx (%s)", exc)
            raise ImportFileError(_("The spreadsheet cannot be read.")) from None
        sheet = book.worksheets[0]
        table = [["" if v is None else (v.strftime("%d/%m/%Y") if isinstance(v, (dt.date, dt.datetime)) else str(v))
                  for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
        except csv.Error:
            dialect = csv.excel
            dialect.delimiter = ";"
        table = list(csv.reader(io.StringIO(text), dialect))
    table = [row for row in table if any(str(c).strip() for c in row)]
    if not table:
        raise ImportFileError(_("The file has no line."))
    header = [_plain(h).replace(" ", "_") for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(_("Columns missing from the first line: %(cols)s.", cols=", ".join(missing)))
    rows = []
    for values in table[1:]:
        rows.append({h: str(values[i]).strip() if i < len(values) else "" for i, h in enumerate(header)
                     if h in COLUMNS})
    return rows


@dataclass
class Report:
    lines: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    created: dict = field(default_factory=lambda: {"plots": 0, "concessions": 0, "deceased": 0})

    @property
    def ok(self) -> bool:
        return not self.errors


def _date(value: str, what: str) -> dt.date | None:
    if not value:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise Refused(_("%(what)s: « %(v)s » is not a date (jj/mm/aaaa).", what=what, v=value[:20]))


def _number(value: str, what: str) -> float | None:
    if not value:
        return None
    try:
        return float(value.replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", "."))
    except ValueError:
        raise Refused(_("%(what)s: « %(v)s » is not a number.", what=what, v=value[:20])) from None


def run(rows: list[dict], commune_insee: str, max_rows: int) -> Report:
    """Check and write every line (the caller commits when ``report.ok``, else rolls back)."""
    report = Report(lines=len(rows))
    if len(rows) > max_rows:
        report.errors.append((0, _("The file has %(n)s lines; at most %(max)s at once.", n=len(rows), max=max_rows)))
        return report
    cache: dict = {}
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            _line(row, commune_insee, cache, report)
        except Refused as exc:
            report.errors.append((number, str(exc)))
    if report.ok:
        audit.record("cemetery.imported", lines=len(rows), count=report.created["deceased"])
    return report


def _get(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def _line(row: dict, insee: str, cache: dict, report: Report) -> None:
    for column in REQUIRED:
        if not row.get(column):
            raise Refused(_("The column « %(c)s » is empty.", c=column))
    key = ("c", row["cimetiere"])
    cemetery = cache.get(key) or _get(Cemetery, name=row["cimetiere"]) or operations.create_cemetery(
        row["cimetiere"], insee)
    cache[key] = cemetery
    key = ("z", cemetery.id, row["zone"])
    zone = cache.get(key) or _get(Zone, cemetery_id=cemetery.id, name=row["zone"]) or operations.create_zone(
        cemetery, row["zone"])
    cache[key] = zone
    key = ("a", zone.id, row["allee"])
    alley = cache.get(key) or _get(Alley, zone_id=zone.id, name=row["allee"]) or operations.create_alley(
        zone, row["allee"])
    cache[key] = alley
    kind = PLOT_KINDS.get(_plain(row.get("type_emplacement") or "concession"))
    if kind is None:
        raise Refused(_("Unknown emplacement type « %(v)s ».", v=row.get("type_emplacement", "")[:40]))
    places = _number(row.get("places", ""), _("places"))
    key = ("p", alley.id, row["emplacement"])
    plot = cache.get(key) or _get(Plot, alley_id=alley.id, number=row["emplacement"])
    if plot is None:
        plot = operations.create_plot(alley, row["emplacement"], kind,
                                      None if places is None else round(places * 10))
        report.created["plots"] += 1
    elif plot.kind != kind:
        raise Refused(_("The emplacement %(n)s is already of another type.", n=row["emplacement"]))
    cache[key] = plot
    concession = None
    if row.get("concession_type"):
        ckind = CONCESSION_KINDS.get(_plain(row["concession_type"]))
        if ckind is None:
            raise Refused(_("Unknown concession type « %(v)s ».", v=row["concession_type"][:40]))
        starts_on = _date(row.get("debut", ""), _("start of the concession"))
        if starts_on is None:
            raise Refused(_("The concession has no start date."))
        ends_on = _date(row.get("fin", ""), _("end of the concession"))
        duration = _number(row.get("duree", ""), _("duration"))
        key = ("k", plot.id, starts_on)
        concession = cache.get(key)
        if concession is None:
            if ckind == "temporary" and duration is None and ends_on is not None:
                duration = round((ends_on - starts_on).days / 365.25)
            people = []
            if row.get("titulaire_nom"):
                people.append({"role": "holder", "last_name": row["titulaire_nom"],
                               "first_names": row.get("titulaire_prenoms", ""),
                               "address": row.get("titulaire_adresse", ""),
                               "postcode": row.get("titulaire_code_postal", ""),
                               "city": row.get("titulaire_commune", ""), "phone": row.get("titulaire_telephone", ""),
                               "email": row.get("titulaire_courriel", "")})
            price = _number(row.get("prix", ""), _("price"))
            concession = operations.create_concession(
                plot, kind=ckind, starts_on=starts_on, duration_years=None if duration is None else int(duration),
                ends_on=ends_on, price=price if price is not None else 0.0,
                number=row.get("concession_numero", ""), people=people)
            report.created["concessions"] += 1
            cache[key] = concession
        elif row.get("titulaire_nom") and not any(p.last_name == row["titulaire_nom"] and
                                                  p.first_names == row.get("titulaire_prenoms", "")
                                                  for p in concession.people):
            operations.add_person(concession, role="holder", last_name=row["titulaire_nom"],
                                  first_names=row.get("titulaire_prenoms", ""))
    if row.get("defunt_nom"):
        mode = MODES.get(_plain(row.get("defunt_mode") or "cercueil"))
        if mode is None:
            raise Refused(_("Unknown mode « %(v)s » (cercueil, urne or reduction).", v=row["defunt_mode"][:20]))
        birth = _date(row.get("defunt_naissance", ""), _("birth date"))
        death = _date(row.get("defunt_deces", ""), _("death date"))
        burial = _date(row.get("defunt_inhumation", ""), _("burial date")) or death
        if birth and death and birth > death:
            raise Refused(_("The deceased was born after their death."))
        if burial is None:
            raise Refused(_("Give the date of death or of the burial."))
        if death and burial < death:
            raise Refused(_("The burial cannot precede the death."))
        rules.check_room(plot.capacity_tenths, operations.used_tenths(plot), mode)
        body = Deceased(plot=plot, last_name=row["defunt_nom"], birth_name=row.get("defunt_nom_naissance", ""),
                        first_names=row.get("defunt_prenoms", ""), birth_date=birth, death_date=death, body=mode,
                        commune_insee=insee)
        db.session.add(body)
        db.session.add(Operation(kind="urn_deposit" if mode == "urn" else "inhumation", plot=plot, deceased=body,
                                 on=burial, notes=_("imported"), commune_insee=insee))
        db.session.flush()
        report.created["deceased"] += 1
    elif concession is None and not row.get("titulaire_nom"):
        return  # an emplacement alone: the plan
    return


def template_csv() -> str:
    """An example file of the layout (the first lines of a real register)."""
    rows = [
        ["Cimetière communal", "Ancien", "A", "12", "concession", "2", "1998-004", "trentenaire", "", "14/03/1998",
         "", "180,00", "MARTIN", "Jeanne", "3 rue du Lavoir", "10200", "Ailleville", "03 25 00 00 00", "",
         "MARTIN", "", "Louis", "02/05/1931", "10/03/1998", "14/03/1998", "cercueil"],
        ["Cimetière communal", "Ancien", "A", "13", "terrain commun", "1", "", "", "", "", "", "", "", "", "", "", "",
         "", "", "DUPONT", "", "Marcel", "", "05/01/2019", "09/01/2019", "cercueil"],
    ]
    from portal.responses import csv_text

    return csv_text(rows, COLUMNS)

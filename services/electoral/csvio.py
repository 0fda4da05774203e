"""Electoral list files in the layout of the arrêté du 12 novembre 2013 (INTA1326795A), art. 2 (columns, in this
order) and art. 4 (``;``-separated, a header line, dates JJ/MM/AAAA, sex M/F). ELIRE/REU exports and the files of
previous software keep these columns.

Reading accepts UTF-8 (with or without BOM) and Windows-1252; anything else is refused with a clear message. An
import is planned first (:func:`plan_import`: new, removed and modified voters, every rejected line and why) and
applied only when the secretary confirms and not one line was rejected (:func:`apply_import`): all or nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal.extensions import db
from portal.models import fold
from portal.responses import safe_dict_writer

from . import roll
from .models import PollingStation, Voter, identity_key, legal_sort_key

COLUMNS = ["TypeListe", "InfoListe", "DateCreationListe", "CodeDepartement", "CodeCommune", "NomCommune",
           "NoElecteurGeneral", "Sexe", "NomdeNaissance", "NomDusage", "Prenoms", "DateDeNaissance",
           "NomComNaissance", "DeptNaissance", "PaysNaissance", "Nationalite", "NomBureauDeVote", "NoBureauDeVote",
           "CodeCanton", "CodeCirconscription", "ComplementDeLocalisation1", "ComplementDeLocalisation2",
           "NumeroVoie", "TypeVoie", "LibelleVoie", "LieuDit", "CodePostal", "VilleLocalite", "Pays"]
MANDATORY_COLUMNS = ["Sexe", "NomdeNaissance", "NomDusage", "Prenoms", "DateDeNaissance", "NomComNaissance",
                     "DeptNaissance", "PaysNaissance", "Nationalite"]

LIST_CODES = {"general": "LG", "eu": "LCE", "municipal": "LCM"}
_LIST_ALIASES = {
    "lg": "general", "lp": "general", "g": "general", "p": "general", "liste generale": "general",
    "liste principale": "general",
    "lce": "eu", "e": "eu", "liste complementaire europeenne": "eu", "liste complementaire europeennes": "eu",
    "lcm": "municipal", "m": "municipal", "liste complementaire municipale": "municipal",
    "liste complementaire municipales": "municipal",
}
FIELD_OF = {"Sexe": "sex", "NomdeNaissance": "birth_name", "NomDusage": "usage_name", "Prenoms": "first_names",
            "NomComNaissance": "birth_place", "DeptNaissance": "birth_department", "PaysNaissance": "birth_country",
            "Nationalite": "nationality", "ComplementDeLocalisation1": "complement1",
            "ComplementDeLocalisation2": "complement2", "NumeroVoie": "street_number", "TypeVoie": "street_type",
            "LibelleVoie": "street_name", "LieuDit": "lieu_dit", "CodePostal": "postal_code",
            "VilleLocalite": "city", "Pays": "country"}
COMPARED = ["birth_name", "usage_name", "first_names", "sex", "birth_date", "birth_place", "birth_department",
            "birth_country", "nationality", "street_number", "street_type", "street_name", "lieu_dit",
            "complement1", "complement2", "postal_code", "city", "country", "bureau_number", "on_general", "on_eu",
            "on_municipal"]


class FileError(ValueError):
    """The whole file is refused (encoding, header); ``args[0]`` is French, for the user."""


def decode(raw: bytes) -> str:
    if not raw.strip():
        raise FileError(_("The file is empty."))
    if b"\x00" in raw[:4096]:
        raise FileError(_("The file is not a text file in UTF-8 or Windows-1252 (UTF-16, or a binary file?). "
                          "Save it as CSV (semicolon-separated)."))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise FileError(_("The file is neither UTF-8 nor Windows-1252: save it in UTF-8.")) from None
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        raise FileError(_("The file holds control characters: it is not a readable CSV file."))
    return text


@dataclass
class Row:
    line: int
    lists: set = field(default_factory=set)
    data: dict = field(default_factory=dict)
    bureau_number: str = ""
    bureau_name: str = ""


@dataclass
class Plan:
    new: list = field(default_factory=list)  # Row
    modified: list = field(default_factory=list)  # (Voter, Row, {field: [before, after]})
    removed: list = field(default_factory=list)  # Voter
    reinstated: list = field(default_factory=list)  # (removed Voter, Row, {field: [before, after]}): back in the file
    unchanged: int = 0
    new_bureaux: dict = field(default_factory=dict)  # number → name
    errors: list = field(default_factory=list)  # (line, message)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        return {"lines": self.lines, "new": len(self.new), "modified": len(self.modified),
                "reinstated": len(self.reinstated),
                "removed": len(self.removed), "unchanged": self.unchanged, "errors": len(self.errors),
                "new_bureaux": len(self.new_bureaux)}


def parse(raw: bytes, commune_insee: str, today: dt.date) -> tuple[dict, list, int]:
    """→ (person key → Row, errors, number of data lines). Rows of one person on several lists are merged."""
    text = decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileError(_("The file is empty.")) from None
    if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
        raise FileError(_("The columns must be separated by semicolons (arrêté of 12 November 2013, article 4)."))
    missing = [c for c in MANDATORY_COLUMNS + ["TypeListe"] if c not in header]
    if missing:
        raise FileError(_("Mandatory columns missing from the first line: %(columns)s. The column names are those of "
                          "the arrêté of 12 November 2013.", columns=", ".join(missing)))
    index = {name: header.index(name) for name in COLUMNS if name in header}
    people: dict[str, Row] = {}
    errors: list[tuple[int, str]] = []
    count = 0
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if len(cells) != len(header):
            errors.append((number, _("%(n)d columns instead of %(expected)d.", n=len(cells), expected=len(header))))
            continue
        get = {name: cells[i].strip() for name, i in index.items()}
        problems, list_name, birth = _line_problems(get, commune_insee, today)
        if problems:
            errors.append((number, "\u00a0; ".join(problems) + "."))
            continue
        sex = get["Sexe"].upper()
        data = {attr: get.get(col, "") for col, attr in FIELD_OF.items()}
        data["sex"] = sex
        data["birth_date"] = birth
        key = identity_key(data["birth_name"], data["first_names"], birth)
        row = people.get(key)
        if row is None:
            row = people[key] = Row(line=number, data=data, bureau_number=get.get("NoBureauDeVote", ""),
                                    bureau_name=get.get("NomBureauDeVote", ""))
        elif list_name in row.lists:
            errors.append((number, _("voter twice on the same list (see line %(line)d).", line=row.line)))
            continue
        row.lists.add(list_name)
        if list_name == "general":  # the main list's line holds the reference address
            row.data.update({k: v for k, v in data.items() if v})
    return people, errors, count


def commune_code(code: str, department: str) -> str:
    """The INSEE code of a line: ``CodeCommune`` is either the 5-character INSEE code or, in ELIRE files, the
    3-character code within ``CodeDepartement`` (``002`` in ``10`` → ``10002``; ``101`` in ``971`` → ``97101``)."""
    code, department = code.strip(), department.strip().upper()
    if not code or len(code) >= 5 or not department:
        return code
    if code.isdigit():
        code = code.zfill(3)
    return (department[:2] if len(department) == 3 else department.zfill(2)) + code


def _line_problems(get: dict, commune_insee: str, today: dt.date) -> tuple[list, str | None, dt.date | None]:
    """What is wrong with one line (French, for the report) → (problems, list name, date of birth)."""
    problems = []
    list_name = _LIST_ALIASES.get(fold(get.get("TypeListe", "")))
    if list_name is None:
        problems.append(_("unknown list type “%(value)s” (LG, LCE or LCM)", value=get.get("TypeListe", "")))
    code = commune_code(get.get("CodeCommune", ""), get.get("CodeDepartement", ""))
    if code and code != commune_insee:
        problems.append(_("the line is about another commune (%(code)s)", code=code))
    if get["Sexe"].upper() not in ("M", "F"):
        problems.append(_("the sex must be M or F"))
    for col in ("NomdeNaissance", "Prenoms"):
        if not get[col]:
            problems.append(_("%(column)s is empty", column=col))
    birth = roll.parse_date(get["DateDeNaissance"])
    if birth is None or len(get["DateDeNaissance"]) != 10 or "/" not in get["DateDeNaissance"]:
        problems.append(_("invalid date of birth “%(value)s” (DD/MM/YYYY)", value=get["DateDeNaissance"]))
        birth = None
    else:
        try:
            roll.check_age(birth, today)
        except roll.RollError:
            problems.append(_("voter under 18 or implausible date of birth"))
    if not get["NomComNaissance"] and not get["PaysNaissance"]:
        problems.append(_("place of birth missing (commune or country)"))
    if list_name in ("eu", "municipal") and not get["Nationalite"]:
        problems.append(_("nationality required on a complementary list"))
    return problems, list_name, birth


def plan_import(raw: bytes, commune_insee: str, today: dt.date | None = None) -> Plan:
    today = today or local_today()
    people, errors, count = parse(raw, commune_insee, today)
    if count == 0:
        # a header alone would remove every voter of the roll: an empty file never empties a roll
        raise FileError(_("The file holds no voter line (only the header): an import never empties the roll. "
                          "Check that the export from the REU or the former software is complete."))
    plan = Plan(errors=errors, lines=count)
    bureaux = {b.number: b for b in db.session.scalars(select(PollingStation))}
    for row in people.values():
        if row.bureau_number and row.bureau_number not in bureaux and row.bureau_number not in plan.new_bureaux:
            if not row.bureau_name:
                plan.errors.append((row.line, _("polling station no. %(n)s does not exist and the file does not give its "
                                                "name.", n=row.bureau_number)))
                continue
            plan.new_bureaux[row.bureau_number] = row.bureau_name
    current = {v.identity_key: v for v in db.session.scalars(select(Voter).where(Voter.status == "registered"))}
    # a removed voter back in the file is reinstated (same record and history), not registered a second time
    gone = {v.identity_key: v for v in db.session.scalars(select(Voter).where(Voter.status != "registered")
                                                          .order_by(Voter.id))}
    for key, row in people.items():
        voter = current.pop(key, None)
        if voter is None and key in gone:
            plan.reinstated.append((gone[key], row, _diff(gone[key], row)))
            continue
        if voter is None:
            plan.new.append(row)
            continue
        diff = _diff(voter, row)
        if diff:
            plan.modified.append((voter, row, diff))
        else:
            plan.unchanged += 1
    plan.removed = sorted(current.values(), key=legal_sort_key)
    plan.errors.sort()
    return plan


def removal_threshold(registered: int, percent: float, at_most: int) -> int:
    """How many removals an import may make on a plain confirmation: ``percent`` % of the roll, at most ``at_most``.
    Above it the secretary types the number of voters the import removes."""
    return min(at_most, int(registered * percent / 100))


def _row_values(row: Row) -> dict:
    values = dict(row.data)
    values["bureau_number"] = row.bureau_number
    for name in ("general", "eu", "municipal"):
        values[f"on_{name}"] = name in row.lists
    return values


def _apply_changes(voter: Voter, row: Row, diff: dict, bureaux: dict) -> None:
    """Give the voter the file's values of the fields that differ (the bureau by its number)."""
    values = _row_values(row)
    for name in diff:
        if name == "bureau_number":
            voter.bureau = bureaux[values[name]]
        else:
            setattr(voter, name, values[name])
    voter.refresh_search()


def _diff(voter: Voter, row: Row) -> dict:
    values = _row_values(row)
    diff = {}
    for name in COMPARED:
        before = voter.bureau.number if name == "bureau_number" and voter.bureau else getattr(voter, name, None)
        if name == "bureau_number" and not values[name]:
            continue
        if (before or None) != (values[name] or None):
            diff[name] = [roll._jsonable(before), roll._jsonable(values[name])]
    return diff


def apply_import(plan: Plan, commune_insee: str, today: dt.date | None = None, filename: str = "") -> dict:
    """Write the plan (the caller commits; nothing is written when the plan has errors)."""
    if not plan.ok:
        raise FileError(_("The file has refused lines: nothing was imported."))
    today = today or local_today()
    bureaux = {b.number: b for b in db.session.scalars(select(PollingStation))}
    for number, name in plan.new_bureaux.items():
        bureaux[number] = PollingStation(commune_insee=commune_insee, number=number, name=name)
        db.session.add(bureaux[number])
    note = _("Import of the file %(name)s", name=filename) if filename else _("File import")
    db.session.flush()
    _insert_new(plan.new, commune_insee, bureaux, today, note)
    for voter, row, diff in plan.modified:
        _apply_changes(voter, row, diff, bureaux)
        address = any(n in diff for n in roll.ADDRESS_FIELDS)
        kind = "civil_status" if any(n in diff for n in roll.CIVIL_FIELDS) else (
            "address" if address else "bureau")
        roll.add_movement(voter, kind, "import", today, note=note, changes=diff)
    for voter, row, diff in plan.reinstated:
        voter.status = "registered"
        _apply_changes(voter, row, diff, bureaux)
        roll.add_movement(voter, "reinstatement", "insee", today, note=note, changes=diff)
    for voter in plan.removed:
        voter.status = "removed"
        roll.add_movement(voter, "removal", "import", today, note=note + " — " + _("missing from the file"))
    db.session.flush()
    return plan.summary()


def _insert_new(rows: list[Row], commune_insee: str, bureaux: dict, today: dt.date, note: str) -> None:
    """New voters and their registration movements in bulk (thousands of lines in a second or two)."""
    from sqlalchemy import insert

    from .models import Movement, utcnow

    email, uid = roll._author()
    now = utcnow()
    proposed: dict = {}
    for start in range(0, len(rows), 5000):
        chunk = rows[start:start + 5000]
        values = []
        for row in chunk:
            d = _row_values(row)
            number = d.pop("bureau_number")
            bureau = bureaux.get(number) if number else None
            if bureau is None:
                street = (d["street_type"], d["street_name"], d["lieu_dit"])
                if street not in proposed:
                    proposed[street] = roll.propose_bureau(*street)
                bureau = proposed[street]
            d.update(commune_insee=commune_insee, status="registered", ine=None, complement2=d.get("complement2", ""),
                     bureau_id=bureau.id if bureau else None, created_at=now,
                     search_name=fold(f"{d['birth_name']} {d['usage_name']} {d['first_names']}"),
                     identity_key=identity_key(d["birth_name"], d["first_names"], d["birth_date"]),
                     search_address=fold(" ".join([d["street_number"], d["street_type"], d["street_name"],
                                                   d["lieu_dit"]])))
            values.append(d)
        # every new voter gets the same registration movement, so the ids need no particular order (asking RETURNING
        # for the parameters' order makes SQLite insert one row per statement)
        ids = db.session.scalars(insert(Voter.__table__).returning(Voter.__table__.c.id), values).all()
        db.session.execute(insert(Movement.__table__), [
            {"voter_id": vid, "commune_insee": commune_insee, "kind": "registration", "reason": "import",
             "effective_on": today, "author": email, "author_id": uid, "note": note, "changes": {},
             "justification_name": "", "created_at": now} for vid in ids])


def export_rows(voters, commune, today: dt.date | None = None):
    """Rows (dicts) of the roll: one per voter and list, each list in legal order, numbered."""
    today = today or local_today()
    for name, code in LIST_CODES.items():
        members = sorted((v for v in voters if getattr(v, f"on_{name}")), key=legal_sort_key)
        for n, v in enumerate(members, start=1):
            yield {
                "TypeListe": code, "InfoListe": "liste électorale", "DateCreationListe": today.strftime("%d/%m/%Y"),
                "CodeDepartement": commune.department_code, "CodeCommune": commune.insee, "NomCommune": commune.name,
                "NoElecteurGeneral": str(n), "Sexe": v.sex, "NomdeNaissance": v.birth_name,
                "NomDusage": v.usage_name, "Prenoms": v.first_names,
                "DateDeNaissance": v.birth_date.strftime("%d/%m/%Y"), "NomComNaissance": v.birth_place,
                "DeptNaissance": v.birth_department, "PaysNaissance": v.birth_country,
                "Nationalite": v.nationality if name != "general" else (v.nationality or ""),
                "NomBureauDeVote": v.bureau.name if v.bureau else "",
                "NoBureauDeVote": v.bureau.number if v.bureau else "", "CodeCanton": "", "CodeCirconscription": "",
                "ComplementDeLocalisation1": v.complement1, "ComplementDeLocalisation2": v.complement2,
                "NumeroVoie": v.street_number, "TypeVoie": v.street_type, "LibelleVoie": v.street_name,
                "LieuDit": v.lieu_dit, "CodePostal": v.postal_code, "VilleLocalite": v.city, "Pays": v.country,
            }


def export_csv(voters, commune, today: dt.date | None = None) -> bytes:
    """The roll in the arrêté's layout, every cell neutralised against spreadsheet formulas."""
    out = io.StringIO(newline="")
    writer = safe_dict_writer(out, fieldnames=COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in export_rows(voters, commune, today):
        writer.writerow(row)
    return out.getvalue().encode("utf-8")

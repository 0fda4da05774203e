"""The service's documents, as PDF (WeasyPrint): the title of concession, the letters to holders of expiring
concessions, the documents of each reprise step, the registers (concessions, operations, ossuary).

Each is an HTML template of ``templates/cemetery/pdf/`` rendered with the commune's name; nothing is fetched from
the network (no image, no font from outside)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload
from weasyprint import HTML

from portal.identity import today as local_today
from portal.extensions import db
from portal.lookups import active_commune

from . import rules
from .models import Alley, Concession, Deceased, Operation, Plot, Zone, deceased_name, plot_label


def to_pdf(html: str) -> bytes:
    return HTML(string=html).write_pdf()


def _render(template: str, **context) -> str:
    from .views.pages import _helpers  # the pages' words and helpers, also outside a request of the blueprint

    return render_template(f"cemetery/pdf/{template}", commune=active_commune(), today=local_today(),
                           rules=rules, **_helpers(), **context)


def title_html(concession: Concession) -> str:
    return _render("title.html", c=concession)


def letters_html(concessions: list[Concession], today: dt.date) -> str:
    letters = []
    for c in concessions:
        window = rules.renewal_window(c.kind, c.ends_on)
        for person in (c.holders or c.beneficiaries):
            letters.append((c, person, window))
    return _render("letters.html", letters=letters, day=today)


def reprise_html(reprise, step, article: str) -> str:
    bodies = db.session.scalars(select(Deceased).where(Deceased.plot_id == reprise.plot_id)
                                .order_by(*Deceased.burial_order())).all()
    return _render("reprise.html", r=reprise, step=step, bodies=bodies, article=article)


def concession_rows():
    """Every concession (all periods), in the order of the register: by number then start."""
    stmt = (select(Concession).options(joinedload(Concession.plot).joinedload(Plot.alley).joinedload(Alley.zone),
                                       joinedload(Concession.people))
            .order_by(Concession.starts_on, Concession.id))
    return db.session.scalars(stmt).unique().all()


@dataclass(frozen=True, slots=True)
class OperationLine:
    """A line of the register of operations, as printed."""

    on: dt.date
    kind: str
    deceased: str  # full name, or ""
    mpf: bool  # the deceased is « Mort pour la France »
    place: str  # zone · allée · number
    destination: str  # the emplacement the remains went to, or where out of the cemetery
    funeral_operator: str
    authorisation_number: str


def operation_rows() -> list[OperationLine]:
    """Every operation, in the order of the register (by date), with only the columns printed: one statement joining
    the emplacement (its allée and zone), the deceased and the destination emplacement — no entity is built, no
    relationship loaded per line."""
    dest, dest_alley, dest_zone = aliased(Plot), aliased(Alley), aliased(Zone)
    stmt = (select(Operation.on, Operation.kind, Deceased.last_name, Deceased.first_names, Deceased.birth_name,
                   Deceased.mpf, Zone.name, Alley.name, Plot.number, dest_zone.name, dest_alley.name, dest.number,
                   Operation.destination, Operation.funeral_operator, Operation.authorisation_number)
            .join(Plot, Operation.plot_id == Plot.id).join(Alley, Plot.alley_id == Alley.id)
            .join(Zone, Alley.zone_id == Zone.id)
            .outerjoin(Deceased, Operation.deceased_id == Deceased.id)
            .outerjoin(dest, Operation.destination_plot_id == dest.id)
            .outerjoin(dest_alley, dest.alley_id == dest_alley.id)
            .outerjoin(dest_zone, dest_alley.zone_id == dest_zone.id)
            .order_by(Operation.on, Operation.id))
    lines = []
    for (on, kind, last, first, birth, mpf, zone, alley, number, d_zone, d_alley, d_number, destination, operator,
         authorisation) in db.session.execute(stmt):
        lines.append(OperationLine(
            on, kind, deceased_name(last, first, birth) if last is not None else "", bool(mpf),
            plot_label(zone, alley, number),
            plot_label(d_zone, d_alley, d_number) if d_number is not None else destination, operator, authorisation))
    return lines


def ossuary_rows():
    """Who rests in an ossuary: the remains placed there (exhumations into an ossuary emplacement)."""
    stmt = (select(Operation).join(Plot, Operation.destination_plot_id == Plot.id)
            .options(joinedload(Operation.deceased), joinedload(Operation.plot).joinedload(Plot.alley)
                     .joinedload(Alley.zone).joinedload(Zone.cemetery))
            .where(Plot.kind == "ossuary").order_by(Operation.on, Operation.id))
    return db.session.scalars(stmt).unique().all()


def register_html(kind: str) -> str:
    rows = {"concessions": concession_rows, "operations": operation_rows, "ossuary": ossuary_rows}[kind]()
    from .queries import mpf_plot_ids

    from .schemas import OPERATION_LABELS

    return _render(f"register_{kind}.html", rows=rows, mpf_plots=mpf_plot_ids(),
                   operation_kinds={k: str(v) for k, v in OPERATION_LABELS.items()})

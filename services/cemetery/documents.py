"""The service's documents, as PDF (WeasyPrint): the title of concession, the letters to holders of expiring
concessions, the documents of each reprise step, the registers (concessions, operations, ossuary).

Each is an HTML template of ``templates/cemetery/pdf/`` rendered with the commune's name; nothing is fetched from
the network (no image, no font from outside)."""
from __future__ import annotations

import datetime as dt

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from weasyprint import HTML

from portal.identity import today as local_today
from portal.extensions import db
from portal.lookups import active_commune

from . import rules
from .models import Alley, Concession, Deceased, Operation, Plot, Zone


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


def operation_rows():
    stmt = (select(Operation).options(joinedload(Operation.plot).joinedload(Plot.alley).joinedload(Alley.zone),
                                      joinedload(Operation.deceased), joinedload(Operation.destination_plot))
            .order_by(Operation.on, Operation.id))
    return db.session.scalars(stmt).unique().all()


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

    return _render(f"register_{kind}.html", rows=rows, mpf_plots=mpf_plot_ids())

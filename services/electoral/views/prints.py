"""Staff pages that print: émargement lists, voter cards, the general list, statistics, and the large print runs
that go to the background (« Impressions »)."""
from __future__ import annotations

import io
import os
import zipfile

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires
from portal.responses import pdf_response

from .. import operations, pdf, printing, procurations, roll
from ..access import bureau_or_404, election_or_404, job_or_404
from ..forms import ConfirmForm
from ..models import Election, PollingStation, PrintJob, Voter, legal_sort_key
from .common import bp, bureaux, commune, registered


def _election_arg():
    eid = request.args.get("scrutin", type=int)
    return election_or_404(eid) if eid else None


def _voters_of(bureau: PollingStation | None, election: Election | None):
    voters = [v for v in registered() if bureau is None or v.bureau_id == bureau.id]
    if election is not None and election.lists:
        voters = [v for v in voters if any(getattr(v, f"on_{name}") for name in election.lists)]
    return sorted(voters, key=legal_sort_key)


def _emargement_header(b, election):
    return printing.emargement_header(commune(), b, election)


def _offer_background(kind: str, b: PollingStation | None, election: Election | None, voters: int):
    """Too many voters for one web request: a page that starts the print run in the background (POST, CSRF)."""
    return render_template("electoral/print_offer.html", kind=kind, b=b, election=election, voters=voters,
                           form=ConfirmForm(), limit=printing.inline_limit())


@bp.get("/bureaux/<int:bureau_id>/emargement.pdf")
def emargement(bureau_id: int):
    b = bureau_or_404(bureau_id)
    election = _election_arg()
    voters = _voters_of(b, election)
    if len(voters) > printing.inline_limit():
        return _offer_background("emargement", b, election, len(voters))
    [data] = pdf.render_emargements([(_emargement_header(b, election), voters,
                                      dict(bureau=b, election=election, commune=commune(),
                                           procurations=procurations.emargement_notes(voters, election)))])
    audit.record("electoral.emargement_printed", target=b, voters=len(voters),
                 election=election.id if election else None)
    db.session.commit()
    return pdf_response(data, f"emargement-bureau-{b.number}.pdf")


@bp.get("/emargement.zip")
def emargement_all():
    """The émargement lists of every bureau, one PDF each in a ZIP, rendered in parallel."""
    election = _election_arg()
    all_bureaux = bureaux()
    if not all_bureaux:
        flash(_("No polling station yet: create the first one below."), "error")
        return redirect(url_for("electoral.bureaux"))
    by_bureau = {b.id: [] for b in all_bureaux}
    for v in _voters_of(None, election):
        if v.bureau_id in by_bureau:
            by_bureau[v.bureau_id].append(v)
    total = sum(len(x) for x in by_bureau.values())
    if total > printing.inline_limit():
        return _offer_background("emargement", None, election, total)
    notes = procurations.emargement_notes([v for x in by_bureau.values() for v in x], election)
    rendered = pdf.render_emargements([(_emargement_header(b, election), by_bureau[b.id],
                                        dict(bureau=b, election=election, commune=commune(), procurations=notes))
                                       for b in all_bureaux])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for b, data in zip(all_bureaux, rendered):
            zf.writestr(f"emargement-bureau-{b.number}.pdf", data)
    audit.record("electoral.emargement_printed", target_type="PollingStation", target_id="all",
                 voters=total, election=election.id if election else None)
    db.session.commit()
    return Response(buf.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="emargement-{commune().insee}.zip"', "Cache-Control": "no-store"})


@bp.post("/impressions")
@requires("electoral.write")
def print_start():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    kind = request.form.get("kind", "")
    if kind not in printing.KINDS:
        abort(400)
    b = bureau_or_404(request.form.get("bureau", type=int)) if request.form.get("bureau") else None
    election = election_or_404(request.form.get("scrutin", type=int) or 0) if request.form.get("scrutin") else None
    if kind == "cards" and b is None:
        abort(400)
    job = operations.start_print(kind, commune(), b, election if kind == "emargement" else None, current_user)
    db.session.commit()
    return redirect(url_for("electoral.print_job", job_id=job.id))


@bp.get("/impressions")
def print_jobs():
    jobs = db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc()).limit(30)).all()
    return render_template("electoral/print_jobs.html", jobs=jobs)


@bp.get("/impressions/<int:job_id>")
def print_job(job_id: int):
    return render_template("electoral/print_job.html", job=job_or_404(job_id))


@bp.get("/impressions/<int:job_id>/fichier")
def print_download(job_id: int):
    job = job_or_404(job_id)
    if job.status != "done" or not job.path or not os.path.exists(job.path):
        abort(404)
    audit.record("electoral.print_downloaded", target=job, kind=job.kind, voters=job.voters)
    db.session.commit()
    with open(job.path, "rb") as fh:
        data = fh.read()
    if not job.filename.endswith(".zip"):
        return pdf_response(data, job.filename, download=True)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{job.filename}"', "Cache-Control": "no-store"})


@bp.get("/bureaux/<int:bureau_id>/cartes.pdf")
def cards(bureau_id: int):
    b = bureau_or_404(bureau_id)
    voters = _voters_of(b, None)
    if len(voters) > printing.inline_limit():
        return _offer_background("cards", b, None, len(voters))
    data = pdf.render_pdf("electoral/pdf/cards.html", printing.cards_header(commune(), b), voters=voters, bureau=b,
                          commune=commune(), qr=pdf.card_qr)
    audit.record("electoral.cards_printed", target=b, voters=len(voters))
    db.session.commit()
    return pdf_response(data, f"cartes-electorales-bureau-{b.number}.pdf")


@bp.get("/liste-generale.pdf")
def general_list():
    """The roll today, or at a past date (``au``) rebuilt from the registrations and removals of the history."""
    day = local_today()
    if request.args.get("au"):
        day = roll.parse_date(request.args["au"])
        if day is None or day > local_today():
            flash(_("Enter a real past date as DD/MM/YYYY."), "error")
            return redirect(url_for("electoral.bureaux"))
        ids = set(roll.roll_at(day))
        voters = [v for v in db.session.scalars(select(Voter)) if v.id in ids]
    else:
        voters = registered()
    voters = sorted(voters, key=legal_sort_key)
    header = " — ".join((commune().name, _("Electoral roll")))
    data = pdf.render_pdf("electoral/pdf/general.html", header, voters=voters, commune=commune(),
                          today=day, past=day != local_today())
    audit.record("electoral.roll_printed", target_type="Voter", voters=len(voters), on=day.isoformat())
    db.session.commit()
    return pdf_response(data, f"liste-electorale-{commune().insee}.pdf")


@bp.get("/statistiques.pdf")
def statistics():
    today = local_today()
    rows = pdf.statistics(registered(), bureaux(), today)
    data = pdf.render_pdf("electoral/pdf/statistics.html", " — ".join((commune().name, _("Statistics"))), rows=rows,
                          commune=commune(), today=today)
    audit.record("electoral.statistics_printed", target_type="Voter")
    db.session.commit()
    return pdf_response(data, f"statistiques-{commune().insee}.pdf")

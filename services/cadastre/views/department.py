"""The department's import page (``/admin/s/cadastre/``): plans, owners and addresses of its communes.

Gate (portal.registry): signed in, active collectivity = the department, the view's permission (``cadastre.import``
to upload, ``collectivities.read`` to read the history). The department administers the communes
``portal.tenancy.administered_communes`` gives (its département's, or an operator's list): each view enters ``territory_scope(those communes)`` explicitly; a commune outside is refused.
An upload becomes an :class:`ImportJob` (files on disk) run by the same all-or-nothing importers as the CLI: here
in the request when small, else by the Celery task (in-process in the embedded default).
"""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import MultipleFileField, SelectField, StringField
from wtforms.validators import DataRequired, Optional, Regexp

from portal import audit
from portal.extensions import db
from portal.outbox import enqueue_after_commit
from portal.registry import requires
from portal.settings import setting
from portal.tenancy import territory_scope
from portal.territory import department_of

from .. import jobs
from ..readers import VINTAGE_RE
from ..models import DepartmentImport, ImportJob, Vintage
from ..problems import from_dict

department_bp = Blueprint("cadastre_department", "services.cadastre", template_folder="templates")

PLAN_SUFFIXES = (".json", ".json.gz", ".geojson", ".geojson.gz", ".tar.bz2", ".tbz2", ".zip", ".gpkg")
CSV_SUFFIXES = (".csv", ".txt")


class PlanForm(FlaskForm):
    commune = StringField(_l("Commune (INSEE code or name)"), validators=[DataRequired()])
    vintage = StringField(_l("Vintage (YYYY-MM, optional)"),
                          validators=[Optional(), Regexp(VINTAGE_RE, message=_l("Write the vintage as YYYY-MM."))])
    files = MultipleFileField(_l("Files"))


class CsvForm(FlaskForm):
    commune = StringField(_l("Commune (INSEE code or name)"), validators=[DataRequired()])
    kind = SelectField(_l("Kind of file"), choices=[("owners", _l("Owners (CSV)")),
                                                   ("addresses", _l("Addresses (BAN or BAL CSV)"))])
    files = MultipleFileField(_l("File"))


def department_communes() -> dict[str, str]:
    """INSEE → name of the communes the active department (or intercommunal operator) administers."""
    from portal.tenancy import administered_communes

    return administered_communes()


@contextmanager
def department_scope():
    """Enter the department's communes explicitly (the department's own territory is empty). The request's
    transaction ends first, so that the next one carries this territory to PostgreSQL's row-level security too;
    the scope's transaction ends on the way out."""
    codes = set(department_communes())
    db.session.commit()
    with territory_scope(codes):
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


def resolve_commune(value: str) -> str | None:
    """« 10002 », « Ailleville », « Ailleville (10002) » → 10002, when it is a commune of the department."""
    communes = department_communes()
    value = (value or "").strip()
    m = re.search(r"\b(\d[\dAB]\d{3})\b", value.upper())
    if m:
        return m.group(1) if m.group(1) in communes else None
    from portal.models import fold

    wanted = fold(value)
    hits = [insee for insee, name in communes.items() if fold(name) == wanted]
    return hits[0] if len(hits) == 1 else None


def _suffix_ok(name: str, suffixes) -> bool:
    return name.lower().endswith(suffixes)


def _save_uploads(storages) -> tuple[Path, list[str], int]:
    folder = jobs.upload_root() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=False)
    names, size = [], 0
    for i, f in enumerate(storages):
        name = secure_filename(f.filename) or f"file-{i}"
        while name in names:
            name = f"{i}-{name}"
        f.save(folder / name)
        size += (folder / name).stat().st_size
        names.append(name)
    return folder, names, size


def _start(kind: str, commune: str, vintage: str | None, storages) -> ImportJob:
    """Write the job (and its files), audit the request, then run it here (small) or through Celery (large)."""
    from ..tasks import run_import

    folder, names, size = _save_uploads(storages)
    inline = size <= float(setting("CADASTRE_IMPORT_INLINE_MB")) * 1024 * 1024
    with department_scope():
        job = ImportJob(kind=kind, commune_insee=commune, vintage=vintage or None, files=names, size=size,
                        folder=str(folder), status="queued", user_id=current_user.id,
                        requested_by=current_user.email)
        db.session.add(job)
        db.session.flush()
        audit.record("cadastre.import.requested", target_type="CadastreImportJob", target_id=job.id, kind=kind,
                     commune=commune, vintage=vintage or None, files=names, size=size)
        db.session.flush()
        job_id = job.id
        if not inline:  # broker down: the job stays queued and the beat entry queues it again
            enqueue_after_commit(run_import, job_id)
    if inline:
        run_import.apply(args=[job_id])  # the same task, run now in this process (own app context and session)
    db.session.expire_all()
    return job_id


def _page(plan_form, csv_form, wanted: str = "", status: int = 200):
    """The import page: forms, the last jobs, and the vintages imported per commune (rendered inside the scope)."""
    names = department_communes()
    commune = resolve_commune(wanted) if wanted else None
    with department_scope():
        stmt = select(Vintage).order_by(Vintage.commune_insee, Vintage.label.desc())
        if wanted:
            stmt = stmt.where(Vintage.commune_insee == (commune or ""))
        by_commune: dict[str, list] = {}
        for v in db.session.scalars(stmt.limit(2000)):
            by_commune.setdefault(v.commune_insee, []).append(v)
        recent = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(30)).all()
        departments = {department_of(insee) for insee in names}
        department_runs = db.session.scalars(select(DepartmentImport).where(
            DepartmentImport.department_code.in_(sorted(departments))).order_by(DepartmentImport.id.desc())
            .limit(10)).all()
        html = render_template("cadastre/department/imports.html", plan_form=plan_form, csv_form=csv_form,
                               names=names, by_commune=by_commune, recent=recent, commune_filter=wanted,
                               department_runs=department_runs,
                               unknown_filter=bool(wanted and not commune),
                               can_import="cadastre.import" in g.permissions,
                               max_mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024))
    return html, status


@department_bp.get("/")
def imports():
    return _page(PlanForm(), CsvForm(), request.args.get("commune", "").strip())


def _form_page(plan_form, csv_form):
    return _page(plan_form, csv_form, status=400)


def _check_files(form, suffixes, single: bool) -> list:
    storages = [f for f in (form.files.data or []) if getattr(f, "filename", "")]
    if not storages:
        form.files.errors = [_("Choose the file(s) to import.")]
    elif single and len(storages) > 1:
        form.files.errors = [_("Give one file at a time.")]
    else:
        bad = [f.filename for f in storages if not _suffix_ok(f.filename, suffixes)]
        if bad:
            form.files.errors = [_("Unsupported file type: %(names)s (accepted: %(suffixes)s).",
                                   names=", ".join(bad), suffixes=", ".join(suffixes))]
    return storages if not form.files.errors else []


def _form_commune(form):
    """The commune typed in an import form (name or INSEE code), or None with the form's error set."""
    commune = resolve_commune(form.commune.data or "")
    if form.commune.data and commune is None:
        form.commune.errors = [*form.commune.errors, _("This is not a commune of the department.")]
    return commune


@department_bp.post("/plans")
@requires("cadastre.import")
def import_plan():
    form = PlanForm()
    ok = form.validate_on_submit()
    commune = _form_commune(form)
    storages = _check_files(form, PLAN_SUFFIXES, single=False)
    if not ok or commune is None or not storages:
        return _form_page(form, CsvForm())
    job_id = _start("plan", commune, form.vintage.data or None, storages)
    return redirect(url_for(".job", job_id=job_id))


@department_bp.post("/fichiers")
@requires("cadastre.import")
def import_csv():
    form = CsvForm()
    ok = form.validate_on_submit()
    commune = _form_commune(form)
    storages = _check_files(form, CSV_SUFFIXES, single=True)
    if not ok or commune is None or not storages:
        return _form_page(PlanForm(), form)
    job_id = _start(form.kind.data, commune, None, storages)
    return redirect(url_for(".job", job_id=job_id))


@department_bp.get("/imports/<int:job_id>")
def job(job_id: int):
    with department_scope():
        j = db.session.scalar(select(ImportJob).where(ImportJob.id == job_id))
        if j is None:
            abort(404)
        errors = [from_dict(e) for e in (j.errors or [])]
        html = render_template("cadastre/department/job.html", job=j, errors=errors,
                               commune_name=department_communes().get(j.commune_insee, j.commune_insee))
    return html


@department_bp.app_template_filter("cadastre_problem")
def _problem_filter(problem) -> str:
    """An import problem in the reader's language (French in the UI; the logs keep the English)."""
    from ..problems import translated

    return translated(problem)

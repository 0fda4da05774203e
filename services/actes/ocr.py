"""Text recognition of a scanned act (an image-only PDF): ``ocrmypdf`` with Tesseract's French data makes it
searchable and archivable (PDF/A), before it is signed and sent.

The mairie asks for it from the act's page when the pre-flight warned « scan sans texte » (``scan_without_text``);
:func:`request` marks the file and hands the task ``actes.ocr`` over after the commit (``portal.outbox``);
:func:`run` (the task) replaces the act's PDF by the recognised one, keeping the scan as it was uploaded (role
``scan``). The state is kept in the file's ``warnings`` (``ocr_pending``, ``ocr_failed:<code>``) so the page can say
what happens; every failure gives a French message there and an English line in the log. Debian packages needed on
the worker: ``tesseract-ocr``, ``tesseract-ocr-fra``, ``ghostscript``.
"""
from __future__ import annotations

import io
import logging

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader

from portal import audit
from portal.extensions import db
from portal.outbox import enqueue_after_commit
from portal.uploads import UploadRejected, check_upload

from . import operations
from .checks import MAX_TOTAL
from .models import Act, ActFile
from .storage import StorageError

log = logging.getLogger(__name__)

PENDING = "ocr_pending"
FAILED = "ocr_failed"
# Why a recognition failed: code kept on the file → French message shown on the act's page.
FAILURES = {
    "missing_tools": _l("Text recognition is not installed on the server (Tesseract with its French data, "
                        "Ghostscript); the department's team has been told."),
    "unreadable": _l("The scan could not be read by the text recognition (damaged or protected PDF)."),
    "has_text": _l("This PDF already holds text: nothing to recognise."),
    "failed": _l("The text recognition failed on this scan; the department's team has been told."),
}


class OcrRefused(ValueError):
    """Text recognition cannot be asked for this act now (French message)."""


class OcrFailed(RuntimeError):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def _state(f: ActFile) -> list[str]:
    return [w for w in (f.warnings or []) if w != PENDING and not w.startswith(FAILED)]


def can_ask(act: Act) -> bool:
    f = act.file("act")
    return (act.status == "draft" and act.signed_at is None and f is not None
            and "scan_without_text" in (f.warnings or []) and PENDING not in (f.warnings or []))


def pending(act: Act) -> bool:
    f = act.file("act")
    return f is not None and PENDING in (f.warnings or [])


def failure(act: Act) -> str | None:
    """The French message of the last failure, if the last recognition failed."""
    f = act.file("act")
    code = next((w.split(":", 1)[1] for w in (f.warnings or []) if w.startswith(FAILED + ":")), None) if f else None
    return str(FAILURES.get(code, FAILURES["failed"])) if code else None


def _task():
    from .tasks import ocr_act

    return ocr_act


def request(act: Act, user) -> None:
    """Ask for the recognition of the act's scan; the task runs after the commit."""
    if act.status != "draft" or act.signed_at is not None:
        raise OcrRefused(_("Only an act not yet signed nor sent can be made searchable."))
    f = act.file("act")
    if f is None or "scan_without_text" not in (f.warnings or []):
        raise OcrRefused(_("This act already holds text."))
    if PENDING in (f.warnings or []):
        raise OcrRefused(_("The text recognition of this act is already running."))
    f.warnings = _state(f) + [PENDING]
    audit.record("actes.ocr_requested", target=act, collectivity=act.collectivity, user=user, number=act.number)
    enqueue_after_commit(_task(), act.id)


def recognise(pdf: bytes) -> bytes:
    """The PDF made searchable in French, as PDF/A. Raises :class:`OcrFailed` (code, English reason)."""
    try:
        import ocrmypdf
        from ocrmypdf import exceptions as ocr_exc
    except ImportError as exc:
        raise OcrFailed("missing_tools", f"ocrmypdf is not installed: {exc}") from exc
    out = io.BytesIO()
    try:
        ocrmypdf.ocr(io.BytesIO(pdf), out, language=["fra"], output_type="pdfa", progress_bar=False, jobs=1,
                     use_threads=True)
    except ocr_exc.MissingDependencyError as exc:
        raise OcrFailed("missing_tools", f"a program ocrmypdf needs is missing: {exc}") from exc
    except ocr_exc.PriorOcrFoundError as exc:
        raise OcrFailed("has_text", f"the PDF already has text: {exc}") from exc
    except (ocr_exc.EncryptedPdfError, ocr_exc.InputFileError, ocr_exc.DigitalSignatureError) as exc:
        raise OcrFailed("unreadable", f"{type(exc).__name__}: {exc}") from exc
    except ocr_exc.BadArgsError as exc:  # e.g. the French language data of Tesseract is not installed
        raise OcrFailed("missing_tools", f"ocrmypdf refused its arguments (language data?): {exc}") from exc
    except ocr_exc.ExitCodeException as exc:
        raise OcrFailed("failed", f"{type(exc).__name__} (exit code {exc.exit_code}): {exc}") from exc
    return out.getvalue()


def run(act_id: int) -> str:
    """The task's work: recognise the act's scan and put the searchable PDF in its place."""
    act = db.session.get(Act, act_id)
    if act is None or not pending(act):
        return "nothing to do"
    f = act.file("act")
    if act.status != "draft" or act.signed_at is not None:  # signed or sent meanwhile: the scan stays as signed
        f.warnings = _state(f)
        db.session.commit()
        return "act no longer a draft"
    try:
        result = recognise(operations.read_file(f))
        info = check_upload(result, "ocr.pdf", allowed={"pdf"}, max_bytes=MAX_TOTAL)
        if "scan" in info.warnings:
            raise OcrFailed("failed", "the recognised PDF still holds no text")
    except (OcrFailed, UploadRejected, StorageError) as exc:
        code = getattr(exc, "code", "failed")
        log.warning("actes: text recognition of act %s failed (%s): %s", act.id, code, exc)
        f.warnings = _state(f) + [f"{FAILED}:{code}"]
        audit.record("actes.ocr_failed", target=act, collectivity=act.collectivity, number=act.number,
                     reason=code)
        db.session.commit()
        return f"failed: {code}"
    name = f.filename.rsplit(".", 1)[0][:230] + "-texte.pdf"
    f.role, f.warnings = "scan", _state(f)
    new = operations.add_file(act, "act", name, result, f.piece_type, position=f.position)
    pages = len(PdfReader(io.BytesIO(result)).pages)
    audit.record("actes.ocr_done", target=act, collectivity=act.collectivity, number=act.number, pages=pages)
    db.session.commit()
    log.info("actes: act %s made searchable (%s pages, file %s)", act.id, pages, new.id)
    return "done"

"""Responses that both the staff pages and the public pages serve: generated documents, the DCE zip, the buyer's
attachments (checked against their stored checksum) and the open data (DECP, OCDS) validated against their schema.

Who may ask is decided by the caller (``access.tender_or_404`` for staff, ``access.published_or_404`` for the
public); these functions only build the answer.
"""
from __future__ import annotations

import json
import logging

from flask import Response, abort, render_template
from flask_babel import gettext as _

from .. import documents, opendata, storage
from ..models import Tender, TenderAttachment

log = logging.getLogger(__name__)


def send_document(t: Tender, doc_code: str, fmt: str) -> Response:
    if fmt not in documents.FORMATS:
        abort(404)
    doc = documents.find(t, doc_code)
    if doc is None:
        abort(404)
    data = documents.render(doc, fmt)
    return Response(data, mimetype=documents.FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{doc.filename}.{fmt}"'})


def _stored(read, what: str):
    """Bytes from the file storage, or a clear French page (never a 500) when the file is missing or altered."""
    try:
        return read()
    except storage.StorageError as exc:
        log.error("tenders: %s cannot be served: %s", what, exc)
        abort(Response(render_template("tenders/file_unavailable.html"), status=410))


def send_dce(t: Tender) -> Response:
    if t.status != "draft" and t.dce_key:
        data = _stored(lambda: t.dce_zip, f"DCE of tender {t.id}")
    else:
        data = _stored(lambda: documents.dce_zip(t), f"DCE of draft tender {t.id}")
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="DCE-{t.reference}.zip"'})


def send_attachment(t: Tender, a: TenderAttachment) -> Response:
    data = _stored(lambda: a.content, f"attachment {a.id} of tender {t.id}")
    return Response(data, mimetype=a.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{documents.safe_name(a.filename)}"'})


def open_data_response(build, what: str, download_name: str | None = None) -> Response:
    """The JSON document ``build()`` returns (DECP, OCDS), or — when it fails its schema — a 503 with a French
    message for the reader and the reason in the log."""
    try:
        doc = build()
    except opendata.OpenDataError as exc:
        log.error("tenders: %s is not valid open data: %s", what, exc)
        return Response(json.dumps({"error": _("The open data of this consultation cannot be produced right now.")},
                                   ensure_ascii=False), status=503, mimetype="application/json")
    headers = {"Content-Disposition": f'attachment; filename="{download_name}"'} if download_name else {}
    return Response(json.dumps(doc, ensure_ascii=False, indent=2), mimetype="application/json", headers=headers)

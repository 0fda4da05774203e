"""HTTP responses every service builds the same way: PDF documents, CSV exports, JSON errors.

- :func:`pdf_response`: inline PDF, never cached (it may hold personal data).
- :func:`csv_response`: a CSV for spreadsheets (UTF-8 with BOM, ``;``-separated as French Excel expects), every
  cell neutralised against formula injection as OWASP recommends (a cell starting with ``= + - @`` or a tab / carriage
  return is prefixed with an apostrophe), never cached.
- :func:`json_error`: ``{"error": …}`` with a French message for the caller; the English reason goes to the log.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence

from flask import Response, jsonify

log = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell that no spreadsheet will run as a formula (OWASP « CSV injection »).

    Numbers stay numbers: only text is touched, so ``-12.5`` written from a float is kept as is.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence], header: Sequence[str] | None = None, *, delimiter: str = ";",
             bom: bool = True) -> str:
    """The CSV document of ``rows`` (sequences), every cell through :func:`safe_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" if bom else "") + buf.getvalue()


def safe_dict_writer(out, fieldnames, **kwargs):
    """A ``csv.DictWriter`` whose rows are neutralised like :func:`safe_cell` (for exports with a fixed layout)."""
    writer = csv.DictWriter(out, fieldnames=fieldnames, **kwargs)
    plain = writer.writerow

    def writerow(row):
        return plain({k: safe_cell(v) for k, v in row.items()})

    writer.writerow = writerow
    writer.writerows = lambda rows: [writerow(r) for r in rows]
    return writer


def csv_response(rows: Iterable[Sequence], filename: str, header: Sequence[str] | None = None, *,
                 delimiter: str = ";", text: str | None = None) -> Response:
    """A CSV download. ``text`` sends a document already built (e.g. with :func:`safe_dict_writer`)."""
    body = text if text is not None else csv_text(rows, header, delimiter=delimiter)
    return Response(body, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def pdf_response(data: bytes, filename: str, *, download: bool = False) -> Response:
    """A PDF shown in the browser (``download=True``: saved as a file). Never cached: PDFs may hold personal data."""
    disposition = "attachment" if download else "inline"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"', "Cache-Control": "no-store"})


def json_error(status: int, message, /, *, reason: str | None = None, **extra) -> tuple[Response, int]:
    """``{"error": message}`` with ``status``; ``message`` is French for the caller, ``reason`` English for logs."""
    if reason:
        log.info("API %s: %s", status, reason)
    payload = {"error": str(message)}
    payload.update(extra)
    return jsonify(payload), status

"""The tiers de télétransmission (TdT) connector: a small interface, and one real adapter for S²LOW's HTTP API as
Pastell uses it.

Checked against the sources (read on 2026-12-07, not copied): Pastell's connector ``connecteur/s2low/S2low.php``
(libriciel/pastell) for what a client sends and how it reads the answers, and S²LOW's own scripts
(libriciel/s2low ``public.ssl/modules/actes/actes_transac_create.php``, ``actes_transac_get_status.php``,
``actes_transac_cancel.php``, ``actes_transac_get_document.php``, ``actes_download_file.php``,
``actes_transac_reponse_create.php``, ``actes_transac_get_files_list.php``, the ``ActesAPI`` controller behind
``api/list_document_prefecture.php`` and ``api/document_prefecture_mark_as_read.php``, and
``ResponseHelper::returnAndExit``) for what it answers:

- every script answers HTTP 200, errors included; an API answer (``api=1`` in the POST or the query) is
  ``OK\\n<value>\\n`` or ``KO\\n<message>\\n``, the message in ISO-8859-1 and HTML-escaped when it comes through
  ``returnAndExit`` (create, cancel, answer), in UTF-8 when the script echoes it itself (status, files list): both
  are decoded here. An authentication failure is also a ``KO`` (« Échec de l'authentification »);
- ``POST actes_transac_create.php`` (multipart: ``api=1``, ``nature_code``, ``number``, ``subject``,
  ``decision_date`` (Y-m-d), ``classif1``…``classif5``, ``document_papier``, ``en_attente``, ``type_acte``
  (required: « typologie absente » otherwise), one ``type_pj[]`` per annex, files ``acte_pdf_file`` and
  ``acte_attachments[]``) → ``OK\\n<transaction id>``; a number already used by the collectivity is a ``KO``;
- ``GET actes_transac_get_status.php?transaction=<id>`` → ``OK\\n<status>\\n`` then, for 4 (acquittement reçu),
  the ARActe XML, for -1 (erreur) the error message in ISO-8859-1 (:data:`S2LOW_STATUSES`);
- ``POST actes_transac_cancel.php`` (``api=1``, ``id``) → ``OK\\n<id of the cancellation transaction>``; S²LOW
  refuses (``KO``) to cancel a transaction that is not « acquittement reçu »;
- ``GET actes_classification_fetch.php?api=1`` → the ``RetourClassification`` XML (or ``KO\\n…``);
- ``GET api/list_document_prefecture.php`` → JSON list of the unread documents of the préfecture (``id``,
  ``type`` 2–5, ``related_transaction_id``, ``number``, ``unique_id``, ``last_status_id``);
- ``GET actes_transac_get_document.php?id=<document id>`` → a redirection to ``actes_download_file.php?env=…``:
  the document's envelope, a **tar.gz** (the préfecture's XML message and its PDF), read by
  :func:`archive_files`; ``GET api/document_prefecture_mark_as_read.php?transaction_id=`` → ``{"result": "ok"}``;
- ``POST actes_transac_reponse_create.php`` (``api=1`` in the POST, ``id`` of the préfecture's document,
  ``type_envoie`` 4 for an answer or the pièces complémentaires, 3 for a refusal, ``type_acte`` required,
  ``acte_pdf_file``, ``acte_attachments[]`` with their ``type_pj[]``) → ``OK\\n<transaction id>``.

Not verified against a running S²LOW (only its sources): the exact bytes of the tar.gz of a préfecture document,
and the statuses S²LOW reports after the AR when an archiving system (SAE) is plugged (12, 13, 14, 16, 19, 20),
mapped here to « acquittement reçu ».

Errors: :class:`TdtUnavailable` (network, TLS, HTTP 5xx, an answer that is neither OK nor KO: retry later) and
:class:`TdtRefused` (``KO``: the TdT's reason, shown to the mairie). Settings ``ACTES_TDT_*`` (descriptor).
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
import secrets
import ssl
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from portal.settings import setting

log = logging.getLogger(__name__)

# S²LOW statuses of an act's transaction → ours. 7 is « AR non disponible pour le moment » (still waiting), 17 and
# 18 « en attente d'être postée / signée » on the TdT, 5 « validé », 6 « refusé »; 12–20 are the archiving (SAE)
# steps S²LOW goes through after the AR.
S2LOW_STATUSES = {-1: "error", 0: "cancelled", 1: "posted", 2: "pending", 3: "transmitted", 4: "acknowledged",
                  5: "acknowledged", 6: "error", 7: "transmitted", 12: "acknowledged", 13: "acknowledged",
                  14: "acknowledged", 16: "acknowledged", 17: "posted", 18: "posted", 19: "acknowledged",
                  20: "acknowledged"}

# S²LOW's type_envoie of an answer to a préfecture's document (Pastell: refusal 3, otherwise 4).
ANSWER_SEND_TYPES = {"reponse": 4, "pieces": 4, "refus": 3}

# Largest préfecture document archive, and file in it, we accept (a letter and a few scanned pages).
ARCHIVE_MAX_BYTES = 200 * 1024 * 1024


class TdtError(Exception):
    pass


class TdtUnavailable(TdtError):
    """The TdT could not be reached or failed (try again later)."""


class TdtRefused(TdtError):
    """The TdT answered KO; ``str(exc)`` is its reason."""


@dataclass
class FilePart:
    field: str
    filename: str
    data: bytes
    mimetype: str = "application/pdf"


@dataclass
class TransactionStatus:
    code: int
    status: str  # ours (S2LOW_STATUSES)
    detail: str = ""
    ar_xml: bytes | None = None


@dataclass
class PrefectureDocument:
    id: str
    kind: int  # 2 courrier simple, 3 demande de pièces complémentaires, 4 lettre d'observations, 5 déféré
    related_transaction_id: str
    unique_id: str
    number: str = ""
    last_status_id: int | None = None


class Connector(Protocol):
    def send(self, fields: dict[str, str], files: list[FilePart]) -> str: ...
    def status(self, transaction_id: str) -> TransactionStatus: ...
    def cancel(self, transaction_id: str) -> str: ...
    def classification(self) -> bytes: ...
    def prefecture_documents(self) -> list[PrefectureDocument]: ...
    def document(self, document_id: str) -> bytes: ...
    def mark_read(self, document_id: str) -> None: ...
    def answer(self, document_id: str, kind: str, files: list[FilePart], type_acte: str,
               type_pj: list[str] | None = None) -> str: ...


def decode_message(raw: bytes) -> str:
    """A message of S²LOW: UTF-8 when a script echoes it, ISO-8859-1 (and HTML-escaped) through returnAndExit."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    return html.unescape(text)


def archive_files(data: bytes) -> list[tuple[str, bytes]]:
    """The files of a préfecture document's envelope (tar.gz), as (base name, bytes), in the archive's order.
    Only regular files; names reduced to their last part (never used as paths). Not an archive → ``TdtUnavailable``."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            out = []
            for member in tar:
                if not member.isfile() or member.size > ARCHIVE_MAX_BYTES:
                    continue
                fh = tar.extractfile(member)
                if fh is not None:
                    out.append((member.name.rsplit("/", 1)[-1], fh.read()))
            return out
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise TdtUnavailable(f"préfecture document is not a readable archive: {exc}") from exc


def multipart(fields: dict[str, str | list[str]], files: list[FilePart]) -> tuple[bytes, str]:
    boundary = "----actes" + secrets.token_hex(12)
    out = []
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{v}\r\n'.encode())
    for f in files:  # header, data and line end appended apart: the file's bytes are copied once, by join()
        safe = f.filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{f.field}"; filename="{safe}"\r\n'
                   f"Content-Type: {f.mimetype}\r\n\r\n".encode())
        out.extend((f.data, b"\r\n"))
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _load_pem_chain(context: ssl.SSLContext, pem: bytes) -> None:
    """``ssl`` reads a client certificate from a file only: a private file (0600, in a private folder) that lives
    for the load and is removed at once."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="actes-tdt-") as folder:
        path = os.path.join(folder, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        context.load_cert_chain(path)


class S2low:
    """Adapter for S²LOW's HTTP API (TLS client certificate, optional basic auth)."""

    def __init__(self, url: str, *, cert: str | None = None, key: str | None = None, ca_file: str | None = None,
                 login: str = "", password: str = "", timeout: float = 30, cert_pem: bytes | None = None):
        self.url = url.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca_file or None)
        if cert_pem:  # a collectivity's certificate and key, opened from the database (services.actes.credentials)
            _load_pem_chain(self.context, cert_pem)
        elif cert:
            self.context.load_cert_chain(cert, key or None)
        self.auth = ("Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()) if login else None
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> S2low:
        url = setting("ACTES_TDT_URL")
        if not url:
            raise TdtUnavailable("ACTES_TDT_URL is not set")
        return cls(url, cert=setting("ACTES_TDT_CLIENT_CERT") or None, key=setting("ACTES_TDT_CLIENT_KEY") or None,
                   ca_file=setting("ACTES_TDT_CA_FILE") or None, login=setting("ACTES_TDT_LOGIN"),
                   password=setting("ACTES_TDT_PASSWORD"), timeout=setting("ACTES_TDT_TIMEOUT"))

    def _call(self, method: str, path: str, params: dict | None = None, body: bytes | None = None,
              content_type: str | None = None) -> bytes:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        req = urllib.request.Request(url, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise TdtUnavailable(f"TdT answered HTTP {exc.code} on {path}") from exc
            raise TdtRefused(f"HTTP {exc.code}: {exc.read()[:200].decode('utf-8', 'replace')}") from exc
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            raise TdtUnavailable(f"TdT unreachable on {path}: {exc}") from exc

    @staticmethod
    def _answer(raw: bytes) -> str:
        """The value after ``OK\\n``; ``KO`` → :class:`TdtRefused` with S²LOW's message."""
        head, _, rest = raw.partition(b"\n")
        if head.strip() == b"OK":
            return decode_message(rest)
        if head.strip() == b"KO":
            raise TdtRefused(" ".join(decode_message(rest).split()) or "KO")
        raise TdtUnavailable(f"TdT answer neither OK nor KO: {raw[:120]!r}")

    @staticmethod
    def _first_line(value: str) -> str:
        return value.strip().splitlines()[0].strip() if value.strip() else ""

    def send(self, fields: dict[str, str], files: list[FilePart]) -> str:
        body, ctype = multipart({"api": "1", **fields}, files)
        transaction = self._first_line(self._answer(self._call("POST", "/modules/actes/actes_transac_create.php",
                                                               body=body, content_type=ctype)))
        if not transaction.isdigit():
            raise TdtUnavailable(f"TdT accepted the act without a transaction number: {transaction!r}")
        return transaction

    def status(self, transaction_id: str) -> TransactionStatus:
        raw = self._call("GET", "/modules/actes/actes_transac_get_status.php", {"transaction": transaction_id})
        self._answer(raw)  # KO → TdtRefused
        _ok, _, rest = raw.partition(b"\n")
        code_text, _, tail = rest.partition(b"\n")  # the tail is kept as bytes: the ARActe is ISO-8859-1 XML
        try:
            code = int(code_text.strip())
        except ValueError as exc:
            raise TdtUnavailable(f"status {code_text[:40]!r} is not a number") from exc
        if code not in S2LOW_STATUSES:
            log.warning("actes: S²LOW status %s of transaction %s is unknown; kept as transmitted", code,
                        transaction_id)
        xml = tail.strip() if code == 4 and tail.lstrip().startswith(b"<") else None
        detail = "" if xml else " ".join(decode_message(tail).split())
        return TransactionStatus(code, S2LOW_STATUSES.get(code, "transmitted"), detail, xml)

    def cancel(self, transaction_id: str) -> str:
        """Asks for the cancellation; returns the id of S²LOW's cancellation transaction."""
        body, ctype = multipart({"api": "1", "id": transaction_id}, [])
        return self._first_line(self._answer(self._call("POST", "/modules/actes/actes_transac_cancel.php",
                                                        body=body, content_type=ctype)))

    def classification(self) -> bytes:
        raw = self._call("GET", "/modules/actes/actes_classification_fetch.php", {"api": "1"})
        if raw.startswith(b"KO"):
            self._answer(raw)
        if not raw.lstrip().startswith(b"<"):
            raise TdtUnavailable(f"classification is not XML: {raw[:80]!r}")
        return raw

    def prefecture_documents(self) -> list[PrefectureDocument]:
        raw = self._call("GET", "/modules/actes/api/list_document_prefecture.php")
        if raw.startswith(b"KO"):
            self._answer(raw)
        try:
            items = json.loads(raw or b"[]")
        except ValueError as exc:
            raise TdtUnavailable("list of préfecture documents is not JSON") from exc
        if not isinstance(items, list):
            raise TdtUnavailable("list of préfecture documents is not a list")
        docs = []
        for d in items:
            try:
                status = d.get("last_status_id")
                docs.append(PrefectureDocument(str(d["id"]), int(d["type"]),
                                               str(d.get("related_transaction_id") or ""),
                                               str(d.get("unique_id") or ""), str(d.get("number") or ""),
                                               int(status) if status not in (None, "") else None))
            except (TypeError, KeyError, ValueError, AttributeError):
                log.warning("actes: préfecture document entry ignored: %r", d)
        return docs

    def document(self, document_id: str) -> bytes:
        """The envelope of a préfecture's document (tar.gz; :func:`archive_files` reads it)."""
        raw = self._call("GET", "/modules/actes/actes_transac_get_document.php", {"id": document_id})
        if raw.startswith(b"KO"):
            self._answer(raw)
        return raw

    def mark_read(self, document_id: str) -> None:
        raw = self._call("GET", "/modules/actes/api/document_prefecture_mark_as_read.php",
                         {"transaction_id": document_id})
        if raw.startswith(b"KO"):
            self._answer(raw)

    def answer(self, document_id: str, kind: str, files: list[FilePart], type_acte: str,
               type_pj: list[str] | None = None) -> str:
        """Answers a préfecture's document: ``kind`` reponse, pieces (the documents asked for) or refus; the first
        file is the letter (``acte_pdf_file``), the others its annexes with their types de pièce."""
        fields: dict[str, str | list[str]] = {"api": "1", "id": document_id,
                                              "type_envoie": str(ANSWER_SEND_TYPES[kind]), "type_acte": type_acte}
        parts = [FilePart("acte_pdf_file", files[0].filename, files[0].data, files[0].mimetype)]
        parts += [FilePart("acte_attachments[]", f.filename, f.data, f.mimetype) for f in files[1:]]
        if files[1:]:
            fields["type_pj[]"] = list(type_pj or [])
        body, ctype = multipart(fields, parts)
        transaction = self._first_line(self._answer(self._call(
            "POST", "/modules/actes/actes_transac_reponse_create.php", body=body, content_type=ctype)))
        if not transaction.isdigit():
            raise TdtUnavailable(f"TdT accepted the answer without a transaction number: {transaction!r}")
        return transaction


def connector() -> Connector:
    """The TdT of the configuration (one adapter today: S²LOW)."""
    try:
        return S2low.from_settings()
    except (OSError, ssl.SSLError) as exc:  # certificate files missing or unreadable
        raise TdtUnavailable(f"TdT client certificate cannot be loaded: {exc}") from exc

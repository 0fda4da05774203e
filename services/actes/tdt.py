"""The tiers de télétransmission (TdT) connector: a small interface, and one real adapter for S²LOW's HTTP API as
Pastell uses it.

S²LOW speaks plain HTTP(S) with a TLS client certificate (and, on some platforms, basic authentication on top);
most answers are text, ``OK\\n<value>`` or ``KO\\n<reason>``:

- ``POST /modules/actes/actes_transac_create.php`` (multipart: ``api=1``, ``nature_code``, ``number``, ``subject``,
  ``decision_date``, ``classif1``…``classif5``, ``document_papier``, ``en_attente``, ``type_acte``, ``type_pj[]``,
  files ``acte_pdf_file`` and ``acte_attachments[]``) → ``OK\\n<transaction id>``;
- ``GET /modules/actes/actes_transac_get_status.php?transaction=<id>`` → ``OK\\n<status>\\n<ARActe XML when 4>``;
- ``POST /modules/actes/actes_transac_cancel.php`` (``api=1``, ``id``) → ``OK\\n…``;
- ``GET /modules/actes/actes_classification_fetch.php?api=1`` → the ``RetourClassification`` XML;
- ``GET /modules/actes/api/list_document_prefecture.php`` → JSON list of the préfecture's documents (``id``,
  ``type``, ``related_transaction_id``, ``unique_id``…); ``GET /modules/actes/actes_transac_get_document.php?id=``
  → the document; ``GET /modules/actes/api/document_prefecture_mark_as_read.php?transaction_id=``;
- ``POST /modules/actes/actes_transac_reponse_create.php`` (``api=1``, ``id`` of the préfecture's document,
  ``type_envoie``, ``acte_pdf_file``) → ``OK\\n<transaction id>``.

Errors: :class:`TdtUnavailable` (network, TLS, HTTP 5xx: retry later) and :class:`TdtRefused` (``KO``: the TdT's
reason, shown to the mairie). Settings ``ACTES_TDT_*`` (declared in the descriptor).
"""
from __future__ import annotations

import base64
import json
import secrets
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from portal.settings import setting

# S²LOW transaction statuses → ours.
S2LOW_STATUSES = {-1: "error", 0: "cancelled", 1: "posted", 2: "pending", 3: "transmitted", 4: "acknowledged",
                  5: "acknowledged", 6: "error", 7: "acknowledged", 8: "acknowledged"}


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
    kind: int
    related_transaction_id: str
    unique_id: str


class Connector(Protocol):
    def send(self, fields: dict[str, str], files: list[FilePart]) -> str: ...
    def status(self, transaction_id: str) -> TransactionStatus: ...
    def cancel(self, transaction_id: str) -> None: ...
    def classification(self) -> bytes: ...
    def prefecture_documents(self) -> list[PrefectureDocument]: ...
    def document(self, document_id: str) -> bytes: ...
    def mark_read(self, document_id: str) -> None: ...
    def answer(self, document_id: str, kind: int, files: list[FilePart]) -> str: ...


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


class S2low:
    """Adapter for S²LOW's HTTP API (TLS client certificate, optional basic auth)."""

    def __init__(self, url: str, *, cert: str | None = None, key: str | None = None, ca_file: str | None = None,
                 login: str = "", password: str = "", timeout: float = 30):
        self.url = url.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca_file or None)
        if cert:
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
    def _answer(raw: bytes) -> list[str]:
        text = raw.decode("utf-8", errors="replace")
        head, _, rest = text.partition("\n")
        if head.strip() == "OK":
            return [rest]
        if head.strip() == "KO":
            raise TdtRefused(rest.strip() or "KO")
        raise TdtUnavailable(f"TdT answer neither OK nor KO: {text[:120]!r}")

    def send(self, fields: dict[str, str], files: list[FilePart]) -> str:
        body, ctype = multipart({"api": "1", **fields}, files)
        rest = self._answer(self._call("POST", "/modules/actes/actes_transac_create.php", body=body,
                                       content_type=ctype))[0]
        return rest.strip().splitlines()[0].strip() if rest.strip() else ""

    def status(self, transaction_id: str) -> TransactionStatus:
        raw = self._call("GET", "/modules/actes/actes_transac_get_status.php", {"transaction": transaction_id})
        rest = self._answer(raw)[0]
        code_text, _, tail = rest.partition("\n")
        try:
            code = int(code_text.strip())
        except ValueError as exc:
            raise TdtUnavailable(f"status {code_text!r} is not a number") from exc
        start = raw.find(b"<")
        xml = raw[start:].strip() if tail.lstrip().startswith("<") and start >= 0 else None  # bytes as sent
        return TransactionStatus(code, S2LOW_STATUSES.get(code, "transmitted"), "" if xml else tail.strip(), xml)

    def cancel(self, transaction_id: str) -> None:
        body, ctype = multipart({"api": "1", "id": transaction_id}, [])
        self._answer(self._call("POST", "/modules/actes/actes_transac_cancel.php", body=body, content_type=ctype))

    def classification(self) -> bytes:
        raw = self._call("GET", "/modules/actes/actes_classification_fetch.php", {"api": "1"})
        if raw.startswith(b"KO"):
            self._answer(raw)
        return raw

    def prefecture_documents(self) -> list[PrefectureDocument]:
        raw = self._call("GET", "/modules/actes/api/list_document_prefecture.php")
        try:
            items = json.loads(raw or b"[]")
        except ValueError as exc:
            raise TdtUnavailable("list of préfecture documents is not JSON") from exc
        return [PrefectureDocument(str(d["id"]), int(d["type"]), str(d.get("related_transaction_id", "")),
                                   str(d.get("unique_id", ""))) for d in items if isinstance(d, dict) and "id" in d]

    def document(self, document_id: str) -> bytes:
        return self._call("GET", "/modules/actes/actes_transac_get_document.php", {"id": document_id})

    def mark_read(self, document_id: str) -> None:
        self._call("GET", "/modules/actes/api/document_prefecture_mark_as_read.php", {"transaction_id": document_id})

    def answer(self, document_id: str, kind: int, files: list[FilePart]) -> str:
        body, ctype = multipart({"api": "1", "id": document_id, "type_envoie": str(kind)}, files)
        rest = self._answer(self._call("POST", "/modules/actes/actes_transac_reponse_create.php", body=body,
                                       content_type=ctype))[0]
        return rest.strip().splitlines()[0].strip() if rest.strip() else ""


def connector() -> Connector:
    """The TdT of the configuration (one adapter today: S²LOW)."""
    try:
        return S2low.from_settings()
    except (OSError, ssl.SSLError) as exc:  # certificate files missing or unreadable
        raise TdtUnavailable(f"TdT client certificate cannot be loaded: {exc}") from exc

"""Factories of the Actes tests, shared with the browser tests: real PDFs (with text, scanned-like, encrypted, with
JavaScript, broken) made with pypdf, and a real S²LOW-speaking HTTPS server on loopback that asks for a client
certificate (certificates made with trustme) and answers with the shared ACTES sample messages."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import ssl
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from lxml import etree
from tests.helpers.clock import legal_today

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "actes"
AR_SAMPLE = SAMPLES / "034-000000000-20170701-20170721D-AI-1-2_0.xml"
COURRIER_SAMPLE = SAMPLES / "TACT--SPREF0011-000000000-20170725-1.xml"
NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"


def make_pdf(text: str | None = "Délibération du conseil municipal", *, pages: int = 1) -> bytes:
    """A real one-page PDF; ``text=None`` gives a page without any text (what a scan looks like to a parser)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(595, 842)
        if text is not None:
            font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                     NameObject("/Subtype"): NameObject("/Type1"),
                                     NameObject("/BaseFont"): NameObject("/Helvetica"),
                                     NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
            page[NameObject("/Resources")] = DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
            raw = text.encode("cp1252").replace(b"(", b"\\(").replace(b")", b"\\)")
            stream = DecodedStreamObject()
            stream.set_data(b"BT /F1 14 Tf 72 700 Td (" + raw + b") Tj ET")
            page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf())))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def javascript_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf())))
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hello');")})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def broken_pdf() -> bytes:
    return make_pdf()[:300]


def make_png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A valid RGB PNG (chunks with their CRC), e.g. a scanned plan in miniature; ``padding`` bytes of a private
    ancillary chunk make it as large as a real high-resolution scan."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    extra = chunk(b"prVt", bytes(padding)) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = make_png()


# The loopback S²LOW ---------------------------------------------------------------------------------------------

def _multipart(headers, body: bytes) -> tuple[dict[str, list[str]], list[tuple[str, str, bytes]]]:
    msg = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body)
    fields: dict[str, list[str]] = {}
    files = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files.append((name, filename, payload))
        else:
            fields.setdefault(name, []).append(payload.decode())
    return fields, files


def acknowledgement(unique_id: str, number: str, decision_date: str, nature: int, received: dt.date,
                    classification_in_force: str = "2004-04-01") -> bytes:
    """The shared ARActe sample, made to acknowledge this act (identifiers and dates replaced)."""
    root = etree.fromstring(AR_SAMPLE.read_bytes())
    root.set(f"{{{NS}}}IDActe", unique_id)
    root.set(f"{{{NS}}}DateReception", received.isoformat())
    recu = root.find(f"{{{NS}}}ActeRecu")
    recu.set(f"{{{NS}}}NumeroInterne", number)
    recu.set(f"{{{NS}}}Date", decision_date)
    recu.set(f"{{{NS}}}CodeNatureActe", str(nature))
    root.find(f"{{{NS}}}ClassificationDateVersionEnCours").text = classification_in_force
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")


def prefecture_envelope(document_id: str, letter_text: str = "Courrier de la préfecture") -> bytes:
    """What S²LOW serves for a préfecture's document (actes_download_file.php?env=): a tar.gz of the envelope, the
    préfecture's ACTES message (the shared courrier sample) and its PDF letter."""
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in ((f"EACT--SPREF0011-000000000-20170725-{document_id}.xml", b"<enveloppe/>"),
                           (COURRIER_SAMPLE.name, COURRIER_SAMPLE.read_bytes()),
                           (f"courrier-{document_id}.pdf", make_pdf(letter_text))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class S2lowHandler(BaseHTTPRequestHandler):
    """Speaks as S²LOW's scripts do (read in libriciel/s2low, see services/actes/tdt.py): HTTP 200 for errors too,
    ``OK\\n…\\n`` / ``KO\\n…\\n`` with ISO-8859-1 messages where S²LOW goes through returnAndExit, UTF-8 where
    the script echoes itself (get_status)."""

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _api(self, ok: bool, message: str):
        """ResponseHelper::returnAndExit for an API caller: OK/KO, the message in ISO-8859-1."""
        return self._reply(200, ("OK\n" if ok else "KO\n").encode() + message.encode("iso-8859-1") + b"\n",
                           "text/html; charset=ISO-8859-1")

    def _identity(self) -> str:
        """The common name of the client certificate presented at the handshake (verified against the CA)."""
        cert = self.connection.getpeercert() or {}
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return ""

    def _account(self) -> str | None:
        """S²LOW maps the certificate to a user of one collectivity: ``state.accounts`` (common name → account);
        empty, every certificate of the CA is accepted (as the department's)."""
        st = self.server.state
        cn = self._identity()
        st.identities.append(cn)
        st.calls.append((urlsplit(self.path).path, cn))
        if not st.accounts:
            return cn
        return st.accounts.get(cn)

    def _authorised(self) -> bool:
        st = self.server.state
        self.account = self._account()
        if self.account is None:
            return False
        if st.basic is None:
            return True
        expected = "Basic " + base64.b64encode(f"{st.basic[0]}:{st.basic[1]}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def do_GET(self):  # noqa: N802 - http.server API
        st = self.server.state
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        st.requests.append(("GET", url.path))
        if st.down:
            return self._reply(503, b"maintenance")
        if not self._authorised():
            return self._reply(200, "KO\nÉchec de l'authentification".encode())
        if url.path == "/modules/actes/actes_transac_get_status.php":
            tx = st.transactions.get(q.get("transaction", ""))
            if tx is None or (st.accounts and tx.get("account") != self.account):
                return self._reply(200, "KO\nNuméro de transaction invalide.".encode())
            body = f"OK\n{tx['status']}\n".encode()
            if tx["status"] == 4:
                body += tx["ar"]
            elif tx["status"] == -1:
                body += tx.get("error", "").encode("iso-8859-1")
            return self._reply(200, body)
        if url.path == "/modules/actes/actes_classification_fetch.php":
            return self._reply(200, st.classification, "text/xml")
        if url.path == "/modules/actes/api/list_document_prefecture.php":
            unread = [{k: d.get(k) for k in ("id", "type", "related_transaction_id", "number", "unique_id",
                                             "last_status_id")} for d in st.documents if not d.get("read")]
            return self._reply(200, json.dumps(unread).encode(), "application/json")
        if url.path == "/modules/actes/actes_transac_get_document.php":
            doc = next((d for d in st.documents if d["id"] == q.get("id")), None)
            if doc is not None:  # a préfecture's document: its envelope, through a redirection
                return self._reply(302, b"", headers=[("Location",
                                                       f"actes_download_file.php?env=9{doc['id']}")])
            tx = st.transactions.get(q.get("id", ""))
            if tx is None:
                return self._reply(200, "KO\nNuméro de transaction invalide.".encode())
            lines = "".join(f"{d['type']}-{d.get('last_status_id', 7)}-{d['id']}\n" for d in st.documents
                            if d.get("related_transaction_id") == q.get("id"))
            return self._reply(200, lines.encode())
        if url.path == "/modules/actes/actes_download_file.php":
            doc = next((d for d in st.documents if "9" + d["id"] == q.get("env")), None)
            if doc is None:
                return self._reply(302, b"", headers=[("Location", "/")])
            return self._reply(200, prefecture_envelope(doc["id"]), "application/x-gzip")
        if url.path == "/modules/actes/api/document_prefecture_mark_as_read.php":
            for d in st.documents:
                if d["id"] == q.get("transaction_id"):
                    d["read"] = True
            return self._reply(200, b'{"result":"ok"}', "application/json")
        return self._reply(404, b"not found")

    def do_POST(self):  # noqa: N802 - http.server API
        st = self.server.state
        path = urlsplit(self.path).path
        st.requests.append(("POST", path))
        if st.down:
            return self._reply(503, b"maintenance")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fields, files = _multipart(self.headers, body)
        f = {k: v[0] for k, v in fields.items()}
        if f.get("api") != "1":  # a browser's form: S²LOW would redirect to its page
            return self._reply(302, b"", headers=[("Location", "/modules/actes/")])
        if not self._authorised():
            return self._api(False, "Échec de l'authentification")
        if path == "/modules/actes/actes_transac_create.php":
            return self._create(fields, f, files)
        if path == "/modules/actes/actes_transac_cancel.php":
            tx = st.transactions.get(f.get("id", ""))
            if tx is None or (st.accounts and tx.get("account") != self.account):
                return self._api(False, "Erreur d'initialisation de la transaction.")
            if tx["status"] != 4:
                return self._api(False, "Impossible d'annuler une transaction qui n'est pas en état "
                                        "« Acquittement reçu ».")
            st.next_id += 1
            st.transactions[str(st.next_id)] = {"fields": fields, "files": [], "status": 1, "cancels": f["id"]}
            st.cancelled.append(f["id"])
            return self._api(True, str(st.next_id))
        if path == "/modules/actes/actes_transac_reponse_create.php":
            if not f.get("type_acte"):
                return self._api(False, "Erreur lors de la réception du fichier : typologie absente")
            if f.get("type_envoie") not in ("3", "4") or not any(n == "acte_pdf_file" for n, _fn, _d in files):
                return self._api(False, "Envoi de fichier illégal.")
            attachments = [x for x in files if x[0] == "acte_attachments[]"]
            if len(fields.get("type_pj[]", [])) < len(attachments):
                return self._api(False, "Erreur lors de la réception du fichier annexe : typologie absente")
            st.next_id += 1
            st.answers.append({"fields": fields, "files": files, "id": str(st.next_id)})
            return self._api(True, str(st.next_id))
        return self._reply(404, b"not found")

    def _create(self, fields, f, files):
        st = self.server.state
        if st.refuse:
            return self._api(False, st.refuse)
        if not re.match(r"^[A-Z0-9_]{1,15}$", f.get("number", "")) or f["number"].startswith("_") \
                or f["number"].endswith("_"):
            return self._api(False, "Le numéro n'est pas correct")
        try:
            if dt.date.fromisoformat(f.get("decision_date", "")) > legal_today():
                return self._api(False, "La date de décision est une date dans le futur")
        except ValueError:
            return self._api(False, "La date de décision n'est pas correcte")
        missing = [k for k in ("nature_code", "subject", "classif1") if not f.get(k)]
        if missing:
            return self._api(False, f"Champs manquants : {', '.join(missing)}")
        if not any(name == "acte_pdf_file" for name, _fn, _d in files):
            return self._api(False, "Aucun fichier acte n'a été posté ")
        if not f.get("type_acte"):
            return self._api(False, "Erreur lors de la réception du fichier : typologie absente")
        attachments = [x for x in files if x[0] == "acte_attachments[]"]
        if len(fields.get("type_pj[]", [])) < len(attachments):
            return self._api(False, "Erreur lors de la réception du fichier annexe : typologie absente")
        if any(tx["fields"].get("number") == [f["number"]] and "cancels" not in tx
               for tx in st.transactions.values()):
            return self._api(False, "Un acte portant le même numéro interne existe déjà dans la base de données.\n"
                                    "Il faut peut-être ajouter un suffixe au numéro.")
        st.next_id += 1
        tx_id = str(st.next_id)
        st.transactions[tx_id] = {"fields": fields, "files": files, "status": 1, "account": self.account}
        return self._api(True, tx_id)


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, ca=None):
        super().__init__(("127.0.0.1", 0), S2lowHandler)
        self.context = context
        self.ca = ca  # the trustme CA the TdT trusts: tests issue each collectivity's certificate with it
        self.state = SimpleNamespace()

    def get_request(self):
        sock, addr = super().get_request()
        sock.settimeout(5)
        try:
            return self.context.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError) as exc:
            self.state.handshake_failures.append(str(exc))
            sock.close()
            raise

    def handle_error(self, request, client_address):  # a refused handshake is expected in some tests
        pass

    def reset(self):
        from services.actes.classification import default_xml

        self.state.__dict__.update(transactions={}, documents=[], answers=[], cancelled=[], next_id=1000, down=False,
                                   refuse="", basic=None, handshake_failures=[], classification=default_xml(),
                                   requests=[], accounts={}, identities=[], calls=[])


def start_tdt(tmp_path: Path):
    """A loopback S²LOW over TLS that requires a client certificate of its CA. Returns (server, paths)."""
    import trustme

    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    client_cert = ca.issue_cert("mairie-ailleville@tdt.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = TlsServer(ctx, ca)
    server.reset()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    paths = SimpleNamespace(ca=tmp_path / "tdt-ca.pem", client=tmp_path / "client.pem",
                            other_client=tmp_path / "other-client.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(paths.client))
    trustme.CA().issue_cert("stranger").private_key_and_cert_chain_pem.write_to_path(str(paths.other_client))
    return server, paths


def collectivity_credential(ca, common_name: str, *, not_after: dt.datetime | None = None,
                            not_before: dt.datetime | None = None, password: str = "") -> bytes:
    """A collectivity's client certificate issued by the TdT's CA, as the PKCS#12 file the department uploads."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    leaf = ca.issue_cert(f"{common_name}@tdt.test", common_name=common_name, organization_name="Commune de test",
                         not_after=not_after,
                         not_before=not_before)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    enc = (serialization.BestAvailableEncryption(password.encode()) if password
           else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(common_name.encode(), key, cert, None, enc)


def make_certificate(common_name: str, not_after: dt.date, *, serial: int = 0x1A2B3C4D,
                     not_before: dt.date | None = None) -> SimpleNamespace:
    """A real X.509 certificate (self-signed, EC key) as the certification authority would deliver it: ``pem``,
    ``der``, and ``key_pem`` (the private key, which must never be uploaded)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Commune de test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or min(not_after, legal_today()) - dt.timedelta(days=365)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(dt.datetime.combine(start, dt.time(0), dt.timezone.utc))
            .not_valid_after(dt.datetime.combine(not_after, dt.time(12), dt.timezone.utc))
            .sign(key, hashes.SHA256()))
    return SimpleNamespace(
        pem=cert.public_bytes(serialization.Encoding.PEM), der=cert.public_bytes(serialization.Encoding.DER),
        key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

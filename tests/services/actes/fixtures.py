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


class S2lowHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        st = self.server.state
        if st.basic is None:
            return True
        expected = "Basic " + base64.b64encode(f"{st.basic[0]}:{st.basic[1]}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def do_GET(self):  # noqa: N802 - http.server API
        st = self.server.state
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not self._authorised():
            return self._reply(401, b"authentication required")
        if st.down:
            return self._reply(503, b"maintenance")
        if url.path == "/modules/actes/actes_transac_get_status.php":
            tx = st.transactions.get(q.get("transaction", ""))
            if tx is None:
                return self._reply(200, b"KO\nTransaction inconnue")
            body = f"OK\n{tx['status']}\n".encode()
            if tx["status"] == 4:
                body += tx["ar"]
            elif tx["status"] == -1:
                body += tx.get("error", "").encode()
            return self._reply(200, body)
        if url.path == "/modules/actes/actes_classification_fetch.php":
            return self._reply(200, st.classification, "text/xml")
        if url.path == "/modules/actes/api/list_document_prefecture.php":
            return self._reply(200, json.dumps([d for d in st.documents if not d.get("read")]).encode(),
                               "application/json")
        if url.path == "/modules/actes/actes_transac_get_document.php":
            return self._reply(200, COURRIER_SAMPLE.read_bytes(), "application/xml")
        if url.path == "/modules/actes/api/document_prefecture_mark_as_read.php":
            for d in st.documents:
                if d["id"] == q.get("transaction_id"):
                    d["read"] = True
            return self._reply(200, b"true", "application/json")
        return self._reply(404, b"not found")

    def do_POST(self):  # noqa: N802 - http.server API
        st = self.server.state
        if not self._authorised():
            return self._reply(401, b"authentication required")
        if st.down:
            return self._reply(503, b"maintenance")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fields, files = _multipart(self.headers, body)
        f = {k: v[0] for k, v in fields.items()}
        path = urlsplit(self.path).path
        if path == "/modules/actes/actes_transac_create.php":
            if st.refuse:
                return self._reply(200, f"KO\n{st.refuse}".encode())
            missing = [k for k in ("api", "nature_code", "number", "subject", "decision_date", "classif1")
                       if not f.get(k)]
            if missing or not any(name == "acte_pdf_file" for name, _fn, _d in files):
                return self._reply(200, f"KO\nChamps manquants : {missing}".encode())
            if not re.match(r"^[A-Z0-9_]{1,15}$", f["number"]):
                return self._reply(200, b"KO\nNumero invalide")
            st.next_id += 1
            tx_id = str(st.next_id)
            st.transactions[tx_id] = {"fields": fields, "files": files, "status": 1}
            return self._reply(200, f"OK\n{tx_id}".encode())
        if path == "/modules/actes/actes_transac_cancel.php":
            tx = st.transactions.get(f.get("id", ""))
            if tx is None:
                return self._reply(200, b"KO\nTransaction inconnue")
            tx["status"] = 0
            st.cancelled.append(f["id"])
            return self._reply(200, b"OK\n")
        if path == "/modules/actes/actes_transac_reponse_create.php":
            st.next_id += 1
            st.answers.append({"fields": fields, "files": files, "id": str(st.next_id)})
            return self._reply(200, f"OK\n{st.next_id}".encode())
        return self._reply(404, b"not found")


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext):
        super().__init__(("127.0.0.1", 0), S2lowHandler)
        self.context = context
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
                                   refuse="", basic=None, handshake_failures=[], classification=default_xml())


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
    server = TlsServer(ctx)
    server.reset()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    paths = SimpleNamespace(ca=tmp_path / "tdt-ca.pem", client=tmp_path / "client.pem",
                            other_client=tmp_path / "other-client.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(paths.client))
    trustme.CA().issue_cert("stranger").private_key_and_cert_chain_pem.write_to_path(str(paths.other_client))
    return server, paths

"""The deposit's body read in one pass (views/deposit_body.py): the files sealed as their bytes arrive, by the MiB,
the text fields kept as the form; a body cut short, an oversized field or a missing CSRF token refused with nothing
left on disk."""
from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from .conftest import real_pdf
from .test_deposit_per_lot import _send, _signed_in, two_lots  # noqa: F401 - the fixture


def _files_on_disk(app) -> set:
    from services.tenders import storage

    with app.app_context():
        return {p for p in storage.root().rglob("*") if p.is_file()}


def _read(app, body: bytes, content_type: str, **config):
    """read_sealed on a request carrying ``body``; → (fields, [(name, filename, plaintext, sealed bytes)])."""
    from flask import request

    from services.tenders import sealing, storage
    from services.tenders.views import deposit_body

    with app.test_request_context("/p/tenders/1/depot", method="POST", input_stream=io.BytesIO(body),
                                  content_type=content_type, content_length=len(body)):
        public, _sealed_private = sealing.new_key_pair(1)
        former = {key: app.config[key] for key in config}
        app.config.update(config)
        try:
            uploads = deposit_body.read_sealed(request._get_current_object(),
                                               lambda name: storage.SealedUpload(1, public, name))
        finally:
            app.config.update(former)
        got = []
        for name, up in uploads:
            plain = bytes(up.plain)
            stored = up.finish()
            got.append((name, up.filename, plain, storage.path_of(stored.key).read_bytes()))
            up.discard()
        return request.form, got


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ-limite-1887") -> tuple[bytes, str]:
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            out.write(b"Content-Type: application/pdf\r\n")
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_files_are_sealed_as_they_arrive_and_fields_become_the_form(app):
    big = real_pdf("offre", padding=3 * 1024 * 1024 + 17)  # several reads of a MiB, the last one partial
    small = real_pdf("candidature")
    body, ctype = _multipart([("csrf_token", None, b"jeton"), ("lot", None, b"1"), ("lot", None, b"2"),
                              ("candidature", "DC1 signé.pdf", small), ("memoire_1", "", b""),  # an untouched input
                              ("", "sans nom.pdf", small),  # a part without a field name: nothing of the form
                              ("financiere_1", "DQE.pdf", big)])
    form, files = _read(app, body, ctype)
    assert form["csrf_token"] == "jeton" and form.getlist("lot") == ["1", "2"]
    assert [(name, filename) for name, filename, _plain, _sealed in files] == [
        ("candidature", "DC1 signé.pdf"), ("financiere_1", "DQE.pdf")]
    assert files[0][2] == small and files[1][2] == big  # every byte, in order, none twice
    for _name, _filename, plain, sealed in files:
        assert plain[-4096:] not in sealed and b"%PDF-" not in sealed  # what is stored is sealed


def test_a_body_cut_short_is_refused_and_its_files_removed(app):
    before = _files_on_disk(app)
    body, ctype = _multipart([("csrf_token", None, b"jeton"), ("financiere_1", "DQE.pdf", real_pdf("coupé"))])
    with pytest.raises(BadRequest):
        _read(app, body[:len(body) // 2], ctype)
    assert _files_on_disk(app) == before


def test_text_fields_beyond_the_form_memory_limit_are_refused(app):
    before = _files_on_disk(app)
    body, ctype = _multipart([("financiere_1", "DQE.pdf", real_pdf("limite")), ("lot", None, b"1" * 5000)])
    with pytest.raises(RequestEntityTooLarge):
        _read(app, body, ctype, MAX_FORM_MEMORY_SIZE=1000)
    assert _files_on_disk(app) == before


def test_a_deposit_without_its_csrf_token_is_refused_and_nothing_is_kept(app, two_lots, client):  # noqa: F811
    from portal.extensions import db
    from services.tenders.deposits import Bid

    _mayor, tid = two_lots
    _signed_in(app, client, "sans-jeton@btp.test.example.org")
    before = _files_on_disk(app)
    resp = client.http.post(f"/p/tenders/{tid}/depot", data={"lot": "1", "financiere_1": (
        io.BytesIO(real_pdf("sans jeton")), "DQE.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.query(Bid).count() == 0
    assert _files_on_disk(app) == before
    page = _send(client, tid, {"financiere_1": ("DQE.pdf", real_pdf("avec jeton"))}, [1]).get_data(as_text=True)
    assert "alert-success" in page  # the same deposit with its token is received


@pytest.mark.parametrize("shift", [-60, -30, -19, -17, -2, -1, 0, 1, 2, 17, 40])
def test_a_part_ending_near_a_block_edge_keeps_every_byte_and_no_delimiter(app, shift, monkeypatch):
    """File bytes that hold no boundary go to the upload without the decoder; wherever the delimiter falls against
    the MiB blocks (cut by a block's end or not), the file gets exactly its bytes, and lookalikes of the boundary
    inside the file (no line break before it, a line break and part of it) stay file bytes."""
    from services.tenders.views import deposit_body

    boundary = "XyZ-limite-1887"
    head, ctype = _multipart([("csrf_token", None, b"jeton"), ("lot", None, b"1")], boundary)
    head = head[:-len(f"--{boundary}--\r\n")]
    start = head + (f'--{boundary}\r\nContent-Disposition: form-data; name="financiere_1"; filename="DQE.pdf"\r\n'
                    "Content-Type: application/pdf\r\n\r\n").encode()
    tricky = f"x--{boundary}y\r\n--{boundary[:-3]}\n\r--{boundary}z".encode()
    size = 3 * deposit_body.READ_SIZE - len(start) + shift  # the delimiter lands around the third block's end
    data = tricky + bytes(range(256)) * (size // 256) + b"\r" * (size % 256 - len(tricky) % 256 or 0)
    data = data[:size] if len(data) > size else data + b"\n" * (size - len(data))
    body = start + data + f"\r\n--{boundary}--\r\n".encode()
    direct = []
    monkeypatch.setattr(deposit_body._Block, "_direct", lambda self, file, view: (direct.append(len(view)),
                                                                                    file.write(view)))
    form, files = _read(app, body, ctype)
    assert direct and sum(direct) > deposit_body.READ_SIZE // 2  # the middle block never went through the decoder
    assert form["csrf_token"] == "jeton"
    assert [(name, plain) for name, _filename, plain, _sealed in files] == [("financiere_1", data)]


@pytest.mark.parametrize("line_break", [b"\r\n", b"\n"])
@pytest.mark.parametrize("read_size", [64, 1000, 4096])
def test_several_files_in_small_blocks_are_cut_as_werkzeug_cuts_them(app, monkeypatch, line_break, read_size):
    """Parts of every size (empty, smaller than a block, across many blocks, ending at a block's edge), with bytes
    that look like the boundary, line breaks at their edges and a part's first bytes in the block of its headers
    (handed to the upload before the decoder looks for the part's end): each file gets exactly the bytes werkzeug's
    own form parser gives it, and the fields are the same."""
    import random

    from werkzeug.formparser import parse_form_data

    from services.tenders.views import deposit_body

    monkeypatch.setattr(deposit_body, "READ_SIZE", read_size)
    boundary = "XyZ-limite-1887"
    rng = random.Random(read_size * 7 + len(line_break))
    pieces = [b"\r", b"\n", b"\r\n", f"x--{boundary}".encode(), f"\n--{boundary[:-1]}".encode(), b"%PDF-1.4"]
    parts = [("csrf_token", None, b"jeton")]
    for n, size in enumerate([0, 1, 2, 17, read_size - 40, read_size, 3 * read_size + 5, 10_000]):
        data = bytearray()
        while len(data) < size:
            data += rng.choice(pieces) if rng.random() < 0.3 else bytes([rng.randrange(256)])
        data = data[:size].replace(b"\r--" + boundary.encode(), b"x").replace(b"\n--" + boundary.encode(), b"x")
        data = data.ljust(size, b"y")  # a body never holds its boundary after a line break (RFC 2046)
        if data[-1:] in (b"\r", b"\n"):  # nor a file ending in one: which of the breaks opens the delimiter is moot
            data[-1:] = b"z"
        parts.append((f"offre_{n}", f"piece-{n}.pdf", bytes(data)))
        parts.append(("lot", None, str(n).encode()))
    out = bytearray()
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}".encode() + line_break + f"Content-Disposition: {disposition}".encode() + line_break
        out += line_break + data + line_break
    out += f"--{boundary}--".encode() + line_break
    body, ctype = bytes(out), f"multipart/form-data; boundary={boundary}"

    form, files = _read(app, body, ctype)
    _stream, expected_form, expected_files = parse_form_data({
        "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": ctype,
        "REQUEST_METHOD": "POST"})
    assert form.to_dict(flat=False) == expected_form.to_dict(flat=False)
    assert [(name, filename, plain) for name, filename, plain, _sealed in files] == [
        (name, f.filename, f.read()) for name, f in expected_files.items(multi=True)]
    assert [len(plain) for _name, _filename, plain, _sealed in files] == [0, 1, 2, 17, read_size - 40, read_size,
                                                                          3 * read_size + 5, 10_000]


def test_gunicorn_body_is_read_into_the_buffer_after_the_bytes_gunicorn_holds():
    """On gunicorn the body goes from the socket into the reader's buffer (``recv_into``), after the bytes read
    with the headers; gunicorn's reader is left with nothing to read, as after its own ``read``."""
    import socket
    import threading

    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    from services.tenders.views import deposit_body

    body = bytes(range(256)) * 9000 + b"fin"
    held, rest = body[:5000], body[5000:]
    ours, theirs = socket.socketpair()
    sender = threading.Thread(target=lambda: (theirs.sendall(rest + b"GET /suivante"), theirs.close()))
    sender.start()
    try:
        unreader = SocketUnreader(ours)
        unreader.unread(held)  # what gunicorn read past the headers
        reader = LengthReader(unreader, len(body))
        environ = {"wsgi.input": Body(reader)}
        deposit_body._read_gunicorn_body_in_large_pieces(environ)
        stream, got, buf = environ["wsgi.input"], bytearray(), bytearray(70000)
        while n := stream.readinto(memoryview(buf)):
            got += buf[:n]
        assert bytes(got) == body and reader.length == 0
        assert unreader.read().startswith(b"GET")  # the next request's bytes stay with gunicorn
    finally:
        sender.join()
        ours.close()

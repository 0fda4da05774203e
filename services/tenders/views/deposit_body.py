"""The body of a deposit read in one pass: each file sealed while it arrives, nothing spooled and read again.

The multipart body is read from the WSGI input by the MiB and cut into its parts by werkzeug's sans-I/O
``MultipartDecoder``; each file's bytes go straight to a :class:`storage.SealedUpload` (hashed, encrypted, written),
the small fields (the CSRF token, the lots ticked) are kept as ``request.form``. werkzeug's own form parser does the
same with the decoder but by pieces of 64 KB, and gunicorn hands its body over in 8 KB socket reads: for a 20 MB bid
that is hundreds of rounds through the decoder and thousands of ``recv`` calls, measured as the largest cost of a
deposit besides the sealing itself (bench/tenders.py --deposits).

The limits are werkzeug's and the application's: ``MAX_CONTENT_LENGTH`` (413 before a byte is read),
``MAX_FORM_MEMORY_SIZE`` for the text fields and ``MAX_FORM_PARTS`` for their number (413); each file is held to
``TENDERS_MAX_ATTACHMENT_MB`` by its upload, which keeps reading past it and says so (:attr:`SealedUpload.too_large`),
so that the company gets the file's name in the refusal.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.sansio.multipart import LINE_BREAK_RE, Data, Epilogue, Field, File, MultipartDecoder, NeedData, State

from .. import storage

log = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024  # what is asked of the WSGI input at a time, and so what is sealed at a time


class _Discard:
    """Where the bytes of a file part go when it is no file of the deposit (a form's untouched file input is sent
    with an empty file name and no bytes)."""

    def write(self, data) -> int:
        return len(data)


def read_sealed(req: Request, new_upload: Callable[[str], storage.SealedUpload]
                ) -> list[tuple[str, storage.SealedUpload]]:
    """Read the whole multipart body of ``req``, sealing every file that has a name into ``new_upload(filename)``;
    the text fields become ``req.form`` (``req.files`` stays empty). → [(field name, upload)] in the order of the
    body. On any error every upload made is discarded and the error raised (werkzeug's 400 or 413). A body that is
    not multipart (a form sent without its files) is left to werkzeug, which reads its fields when asked."""
    if req.mimetype != "multipart/form-data" or not req.mimetype_params.get("boundary"):
        return []
    _read_gunicorn_body_in_large_pieces(req.environ)
    boundary = req.mimetype_params["boundary"].encode("latin-1")
    decoder = MultipartDecoder(boundary, max_parts=req.max_form_parts)
    max_text = req.max_form_memory_size
    stream = req.stream  # werkzeug's input stream: MAX_CONTENT_LENGTH checked, bounded by Content-Length
    block = _Block(stream, boundary, req.content_length)
    fields: MultiDict[str, str] = MultiDict()
    uploads: list[tuple[str, storage.SealedUpload]] = []
    text_size = 0
    name, file, text = "", None, bytearray()  # the part being read: a file (its upload) or a text field
    try:
        while True:
            if file is not None:
                block.drain(decoder, file)
            event = decoder.next_event()
            if isinstance(event, NeedData):
                if file is not None and decoder.state is State.DATA:
                    block.file_data(decoder, file)
                else:
                    block.to_decoder(decoder)
            elif isinstance(event, File):  # without a name or a file name: an untouched input, or nothing of ours
                name, file = event.name, (new_upload(event.filename) if event.filename and event.name else _Discard())
                if not isinstance(file, _Discard):
                    uploads.append((name, file))
            elif isinstance(event, Field):
                name, file, text = event.name, None, bytearray()
            elif isinstance(event, Data) and file is not None:
                file.write(event.data)
            elif isinstance(event, Data):
                text_size += len(event.data)
                if max_text is not None and text_size > max_text:
                    raise RequestEntityTooLarge()
                text += event.data
                if not event.more_data and name:
                    fields.add(name, text.decode(errors="replace"))
            elif isinstance(event, Epilogue):
                break
    except BaseException as exc:
        for _name, up in uploads:
            up.discard()
        if isinstance(exc, ValueError):  # the decoder's word for a body cut short or not multipart at all
            log.info("tenders: deposit body unreadable: %s", exc)
            raise BadRequest("the multipart body cannot be read") from exc
        raise
    req.form, req.files = ImmutableMultiDict(fields), ImmutableMultiDict()
    return uploads


class _Block:
    """The body read into one reused buffer of a MiB (``readinto``: the bytes land once, where they are used).

    While a file's bytes are arriving (the decoder in the middle of a part's data), a block holding no
    ``--boundary`` is all file data but its last few bytes (where a delimiter may begin): those bytes go straight to
    the file's upload, as views of the buffer, and the decoder never sees them — what it would have handed over,
    in the same order, without its copies (its buffer, the slices it returns). In a block where the boundary shows
    up, the bytes before the line break that opens it go the same way and the rest through the decoder; every byte
    outside a file's data goes through the decoder. So the decoder alone decides where a part ends."""

    def __init__(self, stream, boundary: bytes, content_length: int | None) -> None:
        self._stream = stream
        self._delimiter = b"--" + boundary
        # kept back at the end of a block: a delimiter (line break, "--", boundary) cut by the block's end, plus the
        # decoder's own margin (werkzeug's SEARCH_EXTRA_LENGTH is 8)
        self._keep = len(self._delimiter) + 16
        self._buf = bytearray(READ_SIZE + self._keep)
        self._view = memoryview(self._buf)
        self._left = content_length  # None: werkzeug's stream knows the end (chunked input)

    def _readinto(self, view: memoryview) -> int:
        if self._left is not None:
            view = view[:max(0, self._left)]
        n = self._stream.readinto(view) if len(view) else 0
        n = n or 0
        if self._left is not None:
            self._left -= n
        return n

    def to_decoder(self, decoder: MultipartDecoder) -> None:
        """Give the decoder the next block (None at the end of the body, as the decoder expects)."""
        n = self._readinto(self._view[:READ_SIZE])
        decoder.receive_data(bytes(self._view[:n]) if n else None)

    def file_data(self, decoder: MultipartDecoder, file) -> None:
        """The next block while a file's data arrives: to ``file`` directly when no boundary is in it."""
        buf, view = self._buf, self._view
        carry = len(decoder.buffer)  # the bytes the decoder held back (a possible delimiter's start)
        if carry > self._keep:  # not expected: the decoder holds back less than a delimiter
            self.to_decoder(decoder)
            return
        buf[:carry] = decoder.buffer
        del decoder.buffer[:]
        n = self._readinto(view[carry:carry + READ_SIZE])
        end = carry + n
        if n == 0:  # the body's end: the decoder's
            decoder.receive_data(bytes(view[:end]))
            decoder.receive_data(None)
            return
        at = buf.find(self._delimiter, 0, end)
        # file data for sure: all before the delimiter's opening line break, or all but the last few bytes
        safe = at - 2 if at != -1 else end - self._keep
        if safe > 0:
            self._direct(file, view[:safe])
        else:
            safe = 0
        decoder.receive_data(bytes(view[safe:end]))

    def drain(self, decoder: MultipartDecoder, file) -> None:
        """Hand ``file`` the bytes the decoder holds that are its data for sure — all before the first delimiter
        (less the line break that opens it), or all but the last few bytes when there is none — so that the decoder
        looks for the part's end in what is left only. A part's first bytes arrive in the block that holds its
        headers, and the decoder reads that block whole: werkzeug's boundary expression, tried at every line break
        of a MiB, was the slowest step of a deposit's parsing (bench/tenders.py --deposits)."""
        if decoder.state not in (State.DATA_START, State.DATA):
            return
        buffer = decoder.buffer
        start = 0
        if decoder.state is State.DATA_START:  # the part's data begins after a line break, which the decoder wants
            opening = LINE_BREAK_RE.match(buffer)
            if opening is None or opening.group() == b"\r":  # a lone CR would take a LF of the data along
                return
            start = opening.end()
        at = buffer.find(self._delimiter, start)
        safe = at - 2 if at != -1 else len(buffer) - self._keep
        if safe <= start:
            return
        whole = memoryview(buffer)
        part = whole[start:safe]
        try:
            self._direct(file, part)
        finally:
            part.release()
            whole.release()
        del buffer[start:safe]

    @staticmethod
    def _direct(file, view: memoryview) -> None:
        file.write(view)


class _GunicornBodyInput:
    """gunicorn's request body read the way it is asked to: see :func:`_read_gunicorn_body_in_large_pieces`."""

    def __init__(self, body) -> None:
        self._body = body

    def read(self, size: int | None = -1) -> bytes:
        body = self._body
        if size is None or size < 0 or body.buf.tell():  # whole-body reads, or bytes left by a readline: as before
            return body.read(size)
        return body.reader.read(size)

    def readinto(self, view) -> int:
        """Read into ``view`` (werkzeug's stream calls this when the input has it): straight from the socket with
        ``recv_into`` while the body's length is known, after the bytes gunicorn already holds; the body's
        reader is told what was consumed, so gunicorn finds the body read, as after ``read``."""
        body, size = self._body, len(view)
        reader = body.reader
        unreader = getattr(reader, "unreader", None)
        if (body.buf.tell() or type(reader).__name__ != "LengthReader" or not hasattr(unreader, "sock")
                or not hasattr(getattr(unreader, "buf", None), "getvalue")):
            data = self.read(size)
            view[:len(data)] = data
            return len(data)
        size = min(size, reader.length)
        if size <= 0:
            return 0
        held = unreader.buf.getvalue()
        if held:  # read from the socket with the headers, not yet handed over
            n = min(size, len(held))
            view[:n] = held[:n]
            unreader.buf = io.BytesIO()
            unreader.buf.write(held[n:])
        else:
            n = unreader.sock.recv_into(view, size)
        reader.length -= n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        return self._body.readline(size)


def _read_gunicorn_body_in_large_pieces(environ) -> None:
    """Let a gunicorn request body be read in the pieces asked for (a MiB), from the socket in large reads.

    gunicorn's ``Body.read(n)`` (gunicorn/http/body.py, 23.0) gathers ``n`` bytes 1 KB at a time: each 1 KB read
    of its ``LengthReader`` takes a socket chunk, keeps 1 KB and puts the rest back in a fresh buffer; and its
    socket reader asks the socket for 8 KB at a time (``SocketUnreader.mxchunk``). The body's reader
    (``LengthReader`` or ``ChunkedReader``) reads ``n`` bytes in one call; while the body's own buffer is empty (it
    stays empty unless something reads a line), reading the reader gives the very same bytes. A ``recv`` of a MiB
    returns what the socket holds, as one of 8 KB does, in far fewer calls. Any other server's input is left
    alone."""
    body = environ.get("wsgi.input")
    if not (type(body).__module__ == "gunicorn.http.body" and type(body).__name__ == "Body"
            and hasattr(getattr(body, "reader", None), "read") and hasattr(getattr(body, "buf", None), "tell")):
        return
    environ["wsgi.input"] = _GunicornBodyInput(body)
    unreader = getattr(body.reader, "unreader", None)
    if isinstance(getattr(unreader, "mxchunk", None), int):
        unreader.mxchunk = max(unreader.mxchunk, READ_SIZE)

"""The text of an uploaded CSV (owners, addresses): the encodings the files of a département arrive in.

Spreadsheets save CSV as UTF-8 (with or without a BOM), as UTF-16 with its BOM (Excel's « Texte Unicode ») or in the
Windows code page (Windows-1252, « ANSI »). Anything else — an MS-DOS code page, a binary file renamed `.csv` — is
refused with a message that names those three, never decoded into garbage nor left to fail as an unexpected error.
"""
from __future__ import annotations

import codecs
import logging

from .problems import ImportFailed
from .problems import N_

log = logging.getLogger(__name__)


def decode_csv(raw: bytes) -> str:
    """``raw`` as text, or raise :class:`ImportFailed` naming the encodings accepted."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    elif b"\x00" in raw:  # UTF-16 without its BOM, a spreadsheet or any binary file
        encodings = ()
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    log.warning("CSV upload refused: %d bytes in none of UTF-8, UTF-16 with BOM, Windows-1252", len(raw))
    raise ImportFailed([N_("the file is neither UTF-8, UTF-16 (with its BOM) nor Windows-1252 text: save it as "
                           "\"CSV UTF-8\" in your spreadsheet and import it again")])

"""Log lines carry ids, never personal data: e-mail addresses and phone numbers in texts that reach a log (an SMTP
server's refusal quoting the recipient, a provider's error) are masked by :func:`redact`."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{8,15}|\+\d{1,3}[ .-]?\d(?:[ .-]?\d{2}){4}|0\d(?:[ .-]?\d{2}){4})(?![\w.])")


def redact(text) -> str:
    """``text`` with every e-mail address replaced by ``<address>`` and every phone number by ``<number>``."""
    return _PHONE.sub("<number>", _EMAIL.sub("<address>", str(text)))

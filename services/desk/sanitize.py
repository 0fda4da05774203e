"""HTML written by publishers, made safe once, when it is written (an allow-list sanitiser, Ammonia through nh3).

What stays: paragraphs, line breaks, emphasis, lists, headings h3–h4, quotes and links (http, https, mailto only; every
link gets ``rel="noopener noreferrer nofollow"``). Everything else — scripts, styles, event attributes (``onerror=``),
``javascript:`` and ``data:`` URLs, SVG, iframes, forms — is removed, the text of removed elements kept where it is
text. The cleaned HTML is what is stored, so the page, the e-mail digest and the Atom feed all show the same safe
markup; :func:`text_of` gives the plain-text version for e-mails and search.
"""
from __future__ import annotations

import html
import re

import nh3

TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def clean(raw: str) -> str:
    """The allowed subset of ``raw``. Text typed without any tag (what most people write) keeps its paragraphs
    (blank lines) and line breaks."""
    raw = raw or ""
    if "<" not in raw:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", raw.replace("\r\n", "\n")) if p.strip()]
        raw = "".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs)
    return nh3.clean(raw, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True).strip()


def safe_url(url: str) -> str:
    """``url`` when it is an http(s) address, else '' (a ``javascript:`` link typed in a form field goes nowhere)."""
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE) else ""


_BLOCK_END = re.compile(r"</(p|li|h3|h4|blockquote)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def text_of(cleaned: str) -> str:
    """Plain text of sanitised HTML (tags dropped, entities decoded, one line per block)."""
    text = _TAG.sub("", _BLOCK_END.sub("\n", cleaned or ""))
    lines = (re.sub(r"[ \t]+", " ", html.unescape(line)).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)

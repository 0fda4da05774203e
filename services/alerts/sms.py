"""SMS text rules and provider adapters.

- :func:`segments` counts SMS segments the way the networks do: GSM 03.38 7-bit alphabet (160 characters in one
  segment, 153 per segment once concatenated; characters of the extension table — ``^ { } \\ [ ~ ] | €`` and form
  feed — take two septets), else UCS-2 (70 characters, 67 per segment; characters outside the BMP take two UTF-16
  units).
- :func:`normalize_mobile` validates a phone number with ``phonenumbers`` and returns it in E.164; only mobile numbers
  are accepted (an SMS to a landline is lost money), and only from the ``countries`` given (SMS abroad cost more).
- Providers: one interface (:class:`SmsProvider.send`), three adapters:
  * :class:`BrevoProvider` — Brevo (ex-Sendinblue, Paris) transactional SMS HTTP API, following
    developers.brevo.com "Transactional SMS endpoints" (``POST /v3/transactionalSMS/send``, ``api-key`` header,
    JSON ``sender``/``recipient``/``content``/``type``/``tag``/``webUrl``/``unicodeEnabled``, answer
    ``{"messageId": …}``) and its error model (4xx with ``{"code", "message"}``). Not tested against the real
    service (no account): tested against a loopback server that speaks the documented request/answer.
  * :class:`HttpJsonProvider` — a generic HTTP/JSON gateway: ``POST <url>`` with ``{"to", "text", "sender",
    "reference"}``, bearer token, answer ``{"id": …}``.
  * :class:`LogProvider` — embedded default when no provider is configured: the text goes to the log (like the
    portal's mail without ``MAIL_SERVER``), the delivery is marked sent by "log".
- :class:`SharedRateLimiter` keeps every worker process together under the provider's rate (Redis, else the
  database).
- Errors: :class:`TemporarySmsError` (network, 429, 5xx: retried with backoff) and :class:`PermanentSmsError`
  (invalid number, refused content, 4xx: never retried).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import phonenumbers

from portal.settings import setting

log = logging.getLogger("services.alerts.sms")

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC) - {"\x1b"}
_EXT = frozenset(GSM_EXTENSION)

MAX_SEGMENTS = 10


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...]  # the characters that forced UCS-2

    def as_dict(self) -> dict:
        return {"encoding": self.encoding, "units": self.units, "segments": self.segments,
                "per_segment": self.per_segment, "non_gsm": list(self.non_gsm)}


def segments(text: str) -> SegmentCount:
    non_gsm = tuple(dict.fromkeys(c for c in text if c not in _BASIC and c not in _EXT))
    if not non_gsm:
        units = sum(2 if c in _EXT else 1 for c in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    if units == 0:
        count = 0
    elif units <= single:
        count = 1
    else:
        count = -(-units // multi)
    return SegmentCount(encoding, units, count, single if count <= 1 else multi, non_gsm)


class InvalidPhone(ValueError):
    """The reason is a short English code: 'invalid', 'not_mobile', 'foreign'."""


MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_mobile(raw: str, region: str = "FR", countries: tuple[str, ...] | None = None) -> str:
    """E.164 form of a mobile number; ``countries`` (phonenumbers region codes): the only ones accepted."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("invalid")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidPhone("not_mobile")
    if countries is not None and phonenumbers.region_code_for_number(number) not in countries:
        raise InvalidPhone("foreign")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return e164


# Providers ------------------------------------------------------------------------------------------------------

class TemporarySmsError(Exception):
    pass


class PermanentSmsError(Exception):
    def __init__(self, message: str, reason: str = "refused"):
        super().__init__(message)
        self.reason = reason


class SharedRateLimiter:
    """At most ``rate`` sends per second to one provider, counted across every worker process and host.

    The generic cell rate algorithm (GCRA): one number per provider, the *theoretical arrival time* ``tat`` of the
    next send. A sender reserves its slot in one atomic step — ``slot = max(now, max(tat, now) - tolerance)``,
    ``tat = max(tat, now) + 1/rate`` — then sleeps until its slot, holding no lock while it waits. ``burst`` sends may
    leave together (tolerance = (burst - 1)/rate); the default 1 spaces every send by 1/rate.

    Where the number lives: Redis when ``REDIS_URL`` is set (a Lua script, atomic, timed by the Redis server's clock,
    so hosts with skewed clocks still agree), else the ``alerts_rate_limit`` table of the database (one UPDATE …
    RETURNING: a row lock on PostgreSQL, the write lock on SQLite; timed by the local clock)."""

    REDIS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ttl = math.ceil((tat + interval - now) * 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'PX', ttl)
local slot = tat - tolerance
if slot < now then slot = now end
return string.format('%.6f', slot - now)
"""

    def __init__(self, name: str, rate: float, *, burst: int = 1, redis_url: str = "", engine=None):
        self.name = name
        self.interval = 1.0 / max(float(rate), 0.001)
        self.tolerance = max(int(burst) - 1, 0) * self.interval
        self.redis_url, self.engine = redis_url, engine
        self._script = None

    def reserve(self) -> float:
        """Take the next slot; returns how long to wait before sending (seconds)."""
        return self._reserve_redis() if self.redis_url else self._reserve_db()

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return wait

    def _reserve_redis(self) -> float:
        if self._script is None:
            self._script = _redis_client(self.redis_url).register_script(self.REDIS_SCRIPT)
        return float(self._script(keys=[f"alerts:rate:{self.name}"], args=[repr(self.interval), repr(self.tolerance)]))

    def _reserve_db(self) -> float:
        from sqlalchemy import func, update

        from .models import RateLimit

        table = RateLimit.__table__
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            bigger = func.greatest if conn.dialect.name == "postgresql" else func.max
            for _ in range(2):
                now = time.time()
                new_tat = conn.execute(update(table).where(table.c.name == self.name)
                                       .values(tat=bigger(table.c.tat, now) + self.interval)
                                       .returning(table.c.tat)).scalar_one_or_none()
                if new_tat is not None:
                    break
                # First send to this provider (or the row was removed): create it; a concurrent creator wins.
                if conn.dialect.name == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert as upsert
                else:
                    from sqlalchemy.dialects.sqlite import insert as upsert
                conn.execute(upsert(table).values(name=self.name, tat=0.0).on_conflict_do_nothing())
            else:
                raise RuntimeError(f"rate limit row {self.name!r} could not be created")
        tat = new_tat - self.interval
        return max(0.0, tat - self.tolerance - now)


_redis_clients: dict[str, object] = {}
_limiters: dict[tuple, SharedRateLimiter] = {}
_lock = threading.Lock()


def _redis_client(url: str):
    with _lock:
        if url not in _redis_clients:
            import redis

            _redis_clients[url] = redis.Redis.from_url(url)
        return _redis_clients[url]


def limiter(name: str, rate: float, burst: int = 1) -> SharedRateLimiter:
    """The shared limiter of a provider for the current app's configuration (Redis or database)."""
    from flask import current_app

    from portal.extensions import db

    redis_url = (current_app.config.get("REDIS_URL") or "").strip()
    key = (name, float(rate), int(burst), redis_url, str(db.engine.url))
    with _lock:
        if key not in _limiters:
            _limiters[key] = SharedRateLimiter(name, rate, burst=burst, redis_url=redis_url, engine=db.engine)
        return _limiters[key]


class SmsProvider:
    name = "base"

    def __init__(self, *, url: str = "", api_key: str = "", sender: str = "", timeout: float = 10.0,
                 callback_url: str = ""):
        self.url, self.api_key, self.sender, self.timeout = url, api_key, sender, timeout
        self.callback_url = callback_url

    def send(self, to: str, text: str, reference: str, unicode: bool) -> str:
        """Send one SMS; return the provider's message id. Raises Temporary/PermanentSmsError."""
        raise NotImplementedError

    def _post(self, url: str, payload: dict, headers: dict) -> dict:
        data = json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json",
                                              **headers})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - configured URL
                body = resp.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:500]
            if exc.code == 429 or exc.code >= 500:
                raise TemporarySmsError(f"HTTP {exc.code}: {body}") from exc
            raise PermanentSmsError(f"HTTP {exc.code}: {body}", reason=self._reason(exc.code, body)) from exc
        except (OSError, urllib.error.URLError) as exc:
            raise TemporarySmsError(repr(exc)) from exc
        try:
            return json.loads(body or b"{}")
        except ValueError as exc:
            raise TemporarySmsError(f"unreadable answer: {body[:200]!r}") from exc

    @staticmethod
    def _reason(code: int, body: str) -> str:
        lowered = body.lower()
        if "recipient" in lowered or "number" in lowered or "phone" in lowered:
            return "invalid_number"
        if code in (401, 403):
            return "provider_auth"
        return "refused"


class BrevoProvider(SmsProvider):
    name = "brevo"
    DEFAULT_URL = "https://api.brevo.com/v3/transactionalSMS/send"

    def send(self, to, text, reference, unicode):
        payload = {
            "sender": self.sender[:11] or "Mairie",
            "recipient": to.lstrip("+"),
            "content": text,
            "type": "transactional",
            "tag": reference,
            "unicodeEnabled": bool(unicode),
        }
        if self.callback_url:
            payload["webUrl"] = self.callback_url
        answer = self._post(self.url or self.DEFAULT_URL, payload, {"api-key": self.api_key})
        message_id = answer.get("messageId")
        if message_id in (None, ""):
            raise TemporarySmsError(f"no messageId in answer: {answer!r}")
        return str(message_id)


class HttpJsonProvider(SmsProvider):
    name = "http_json"

    def send(self, to, text, reference, unicode):
        if not self.url:
            raise PermanentSmsError("ALERTS_SMS_URL is not set for the http_json provider", reason="provider_config")
        answer = self._post(self.url, {"to": to, "text": text, "sender": self.sender, "reference": reference,
                                       "callback_url": self.callback_url or None},
                            {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})
        message_id = answer.get("id")
        if message_id in (None, ""):
            raise TemporarySmsError(f"no id in answer: {answer!r}")
        return str(message_id)


class LogProvider(SmsProvider):
    name = "log"

    def send(self, to, text, reference, unicode):
        log.warning("SMS not sent (no ALERTS_SMS_PROVIDER): to %s, ref %s\n%s", to, reference, text)
        return f"log-{reference}"


PROVIDERS = {p.name: p for p in (BrevoProvider, HttpJsonProvider, LogProvider)}


def provider_from_config(cfg) -> SmsProvider:
    name = (setting("ALERTS_SMS_PROVIDER") or "log").strip()
    cls = PROVIDERS.get(name)
    if cls is None:
        raise ValueError(f"unknown ALERTS_SMS_PROVIDER {name!r} (known: {', '.join(PROVIDERS)})")
    base = (cfg.get("BASE_URL") or "").rstrip("/")
    return cls(url=setting("ALERTS_SMS_URL") or "", api_key=setting("ALERTS_SMS_API_KEY") or "",
               sender=setting("ALERTS_SMS_SENDER") or "Mairie", timeout=float(setting("ALERTS_SMS_TIMEOUT") or 10),
               callback_url=f"{base}/p/alerts/webhooks/sms/{name}?secret={setting('ALERTS_WEBHOOK_SECRET') or ''}"
               if name == "brevo" and base else "")

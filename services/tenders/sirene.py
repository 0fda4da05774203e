"""The collectivity's establishments from the SIRENE register: step 6 of the wizard offers them in a select (SIRET and
address, active ones only) instead of a SIRET typed again.

Connector with one real adapter, :class:`RechercheEntreprises`, for the State's public API « Recherche
d'entreprises » (``GET <TENDERS_SIRENE_URL>/search?q=<SIREN>``, no key; the API of annuaire-entreprises.data.gouv.fr).
Its documented answer is ``{"results": [{"siren", "nom_complet", "siege": {…}, "matching_etablissements": [{…}],
"nombre_etablissements", "nombre_etablissements_ouverts"}], "total_results", …}`` where each establishment has
``siret``, ``adresse``, ``est_siege`` and ``etat_administratif`` (« A » active, « F » closed). The adapter keeps the
siège and the matching establishments of that very SIREN. Known limit, said by data.gouv.fr on its forum: for a
query by SIREN the API fills ``matching_etablissements`` sparingly (mostly the siège alone) — it is not a listing
of every establishment; the INSEE Sirene API (``/siret?q=siren:…``, with a key) is the one that lists them all, and
could be a second adapter behind the same :func:`establishments`.

- Results are cached per SIREN in the process for ``TENDERS_SIRENE_CACHE_S`` seconds (a day by default); a failure
  is remembered for a minute, so a wizard page does not wait on a down service at every keystroke.
- Any failure (refused connection, timeout ``TENDERS_SIRENE_TIMEOUT_S``, HTTP error, an answer not of the documented
  shape) raises :class:`Unavailable` (English reason for the log); the page then says so in French and falls back to
  typing the SIRET, checked for its format and Luhn key (``companies.siret_ok``).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import requests

from portal.settings import setting

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The register could not be asked, or answered something else than the documented shape (English reason)."""


@dataclass(frozen=True)
class Establishment:
    siret: str
    address: str
    head_office: bool
    active: bool

    @property
    def label(self) -> str:
        return f"{self.siret} — {self.address}" + (" (siège)" if self.head_office else "")


class RechercheEntreprises:
    """The « Recherche d'entreprises » API (recherche-entreprises.api.gouv.fr)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    def establishments(self, siren: str) -> list[Establishment]:
        try:
            resp = requests.get(f"{self.base_url}/search", params={"q": siren, "page": 1, "per_page": 5},
                                timeout=self.timeout, headers={"Accept": "application/json"})
            resp.raise_for_status()
            body = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable(f"recherche-entreprises for SIREN {siren}: {exc!r}") from exc
        try:
            found = [r for r in body["results"] if r.get("siren") == siren]
            out: dict[str, Establishment] = {}
            for result in found:
                for e in [result.get("siege") or {}, *(result.get("matching_etablissements") or [])]:
                    siret = str(e.get("siret") or "")
                    if len(siret) == 14 and siret.isdigit() and siret.startswith(siren) and siret not in out:
                        out[siret] = Establishment(siret=siret, address=str(e.get("adresse") or "").strip(),
                                                   head_office=bool(e.get("est_siege")),
                                                   active=e.get("etat_administratif") == "A")
        except (KeyError, TypeError, AttributeError) as exc:
            raise Unavailable(f"recherche-entreprises for SIREN {siren}: unexpected answer ({exc!r})") from exc
        return sorted(out.values(), key=lambda e: (not e.head_office, e.siret))


_cache: dict[str, tuple[float, list[Establishment] | Unavailable]] = {}
_lock = threading.Lock()
FAILURE_TTL = 60.0


def adapter() -> RechercheEntreprises:
    return RechercheEntreprises(str(setting("TENDERS_SIRENE_URL")), float(setting("TENDERS_SIRENE_TIMEOUT_S")))


def establishments(siren: str, *, active_only: bool = True) -> list[Establishment]:
    """The establishments of ``siren`` (active ones by default), cached; :class:`Unavailable` when the register cannot
    be asked (also remembered a minute)."""
    if not (len(siren or "") == 9 and siren.isdigit()):
        raise Unavailable(f"no SIREN to ask for ({siren!r})")
    now = time.monotonic()
    with _lock:
        hit = _cache.get(siren)
    if hit is not None and hit[0] > now:
        found = hit[1]
    else:
        try:
            found = adapter().establishments(siren)
            ttl = float(setting("TENDERS_SIRENE_CACHE_S"))
        except Unavailable as exc:
            log.warning("tenders: SIRENE register unavailable: %s", exc)
            found, ttl = exc, FAILURE_TTL
        with _lock:
            _cache[siren] = (now + ttl, found)
    if isinstance(found, Unavailable):
        raise found
    return [e for e in found if e.active or not active_only]


def forget() -> None:
    """Empty the cache (tests, or after changing ``TENDERS_SIRENE_URL``)."""
    with _lock:
        _cache.clear()

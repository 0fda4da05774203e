"""Open data of an awarded tender: DECP (format réglementaire v2.0.3) and an OCDS 1.1 release package, both validated
against the schemas shipped in ``data/`` before anyone downloads them.

The OCDS release uses ``tender.lots`` and ``awards[].relatedLots``, which come from the Lots extension: the package
declares it in ``extensions`` and the release is validated against the core schema patched with that extension.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from functools import lru_cache

import jsonschema

from portal.identity import today as local_today
from portal.settings import setting

from .rules import DATA

DECP_PROCEDURE = {"none": "Marché passé sans publicité ni mise en concurrence préalable",
                  "mapa": "Procédure adaptée", "formalised": "Appel d'offres ouvert"}
CCAG = {"works": "Travaux", "supplies": "Fournitures courantes et services",
        "services": "Fournitures courantes et services"}
OCDS_CATEGORY = {"works": "works", "supplies": "goods", "services": "services"}
OCDS_METHOD = {"none": "direct", "mapa": "open", "formalised": "open"}
# The department registers its own OCDS prefix with the OCDS helpdesk and sets TENDERS_OCDS_PREFIX; until then
# releases carry this unregistered prefix (README, configuration).
OCDS_PREFIX = "ocds-xxxxxx"


def ocds_prefix() -> str:
    return setting("TENDERS_OCDS_PREFIX") or OCDS_PREFIX


# The extensions the releases use: URL declared in the package → the extension's release-schema patch shipped in data/.
OCDS_EXTENSIONS = {
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json":
        "ocds-lots-extension-release-schema.json",
}


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch, as OCDS applies an extension's release-schema.json to the core schema."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


@lru_cache(maxsize=None)
def _extended_release_schema() -> dict:
    merged = schema("ocds-release-schema.json")
    for patch in OCDS_EXTENSIONS.values():
        merged = _merge_patch(merged, schema(patch))
    return merged


class OpenDataError(ValueError):
    pass


def _validate(doc: dict, schema_name: str, draft) -> None:
    _check(doc, schema(schema_name), draft)


def _check(doc: dict, schema_doc: dict, draft) -> None:
    validator = draft(schema_doc, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        raise OpenDataError("; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]))


def decp_marche(t, a) -> dict:
    lot = next((lot for lot in t.lots if lot.number == a.lot_number), None)
    objet = t.title if len(t.lots) <= 1 or lot is None else f"{t.title} — lot {lot.number} : {lot.title}"
    lieu = ({"code": t.place_insee, "typeCode": "Code commune"} if t.place_insee
            else {"code": (t.collectivity.insee or t.collectivity.department_code), "typeCode":
                  "Code commune" if t.collectivity.insee else "Code département"})
    criteria = {c.get("code") for c in (t.criteria or [])}
    return {
        "id": a.contract_id,
        "acheteur": {"id": t.buyer_siret},
        "nature": "Marché",
        "objet": objet[:1000],
        "codeCPV": t.cpv_code.split("-")[0],  # the schema prefers the code without its check digit
        "techniques": {"technique": ["Sans objet"]},
        "modalitesExecution": {"modaliteExecution": ["Sans objet"]},
        "marcheInnovant": False,
        "ccag": CCAG[t.nature],
        "offresRecues": a.offers_received,
        "attributionAvance": False,
        "typeGroupementOperateurs": "Pas de groupement",
        "procedure": DECP_PROCEDURE[t.procedure],
        "lieuExecution": lieu,
        "dureeMois": max(1, t.total_months),
        "dateNotification": a.notified_on.isoformat(),
        "datePublicationDonnees": a.data_published_on.isoformat(),
        "montant": float(a.amount_ht),
        "typesPrix": {"typePrix": ["Définitif ferme"]},
        "formePrix": a.price_form,
        "sousTraitanceDeclaree": False,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": a.holder_siret}}],
        "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
        "considerationsEnvironnementales": {"considerationEnvironnementale": [
            "Critère environnemental" if "environment" in criteria else "Pas de considération environnementale"]},
    }


def decp_document(tenders) -> dict:
    """The DECP of awarded lots (one ``marche`` per awarded lot), validated against the shipped schema."""
    doc = {"marches": {"marche": [decp_marche(t, a) for t in tenders for a in t.awards]}}
    _validate(doc, "schema_decp_v2.0.3.json", jsonschema.Draft7Validator)
    return doc


def _ts(day) -> str:
    return dt.datetime.combine(day, dt.time()).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ocds_release(t) -> dict:
    """The OCDS release of the tender's latest state: ``tender`` (open), ``tenderAmendment`` (after a correction
    notice), ``tenderUpdate`` (closed, or declared unsuccessful), ``tenderCancellation`` (declared sans suite),
    ``award`` + ``contract`` (one award and one contract per awarded lot). Correction notices are listed in
    ``tender.amendments`` whatever the state."""
    from .ending import CORRECTABLE, legal_mention

    if t.status == "draft":
        raise OpenDataError("tender not published")
    ocid = f"{ocds_prefix()}-{t.collectivity_id}-{t.id}"
    buyer_id = f"FR-SIRET-{t.buyer_siret}"
    published = t.published_at or dt.datetime.combine(t.launch_date or local_today(t.collectivity), dt.time())
    if t.awards:
        last = max(t.awards, key=lambda a: a.data_published_on)
        tag, tender_status, date = ["award", "contract"], "complete", dt.datetime.combine(last.data_published_on,
                                                                                         dt.time())
    elif t.status == "discontinued":
        tag, tender_status, date = ["tenderCancellation"], "cancelled", dt.datetime.combine(t.ended_on, dt.time())
    elif t.status == "unsuccessful":
        tag, tender_status, date = ["tenderUpdate"], "unsuccessful", dt.datetime.combine(t.ended_on, dt.time())
    elif t.status == "closed":
        tag, tender_status, date = ["tenderUpdate"], "complete", t.reception_deadline or published
    elif t.corrections:
        tag, tender_status, date = ["tenderAmendment"], "active", t.corrections[-1].published_at
    else:
        tag, tender_status, date = ["tender"], "active", published
    suppliers = {f"FR-SIRET-{a.holder_siret}": a.holder_name for a in t.awards}
    tender = {
        "id": t.reference,
        "title": t.title,
        "description": t.description or t.title,
        "status": tender_status,
        "procurementMethod": OCDS_METHOD[t.procedure],
        "procurementMethodDetails": DECP_PROCEDURE[t.procedure],
        "mainProcurementCategory": OCDS_CATEGORY[t.nature],
        "value": {"amount": float(t.amount_ht or sum(a.amount_ht for a in t.awards)), "currency": "EUR"},
        "items": [{"id": "1", "description": t.title,
                   "classification": {"scheme": "CPV", "id": t.cpv_code.split("-")[0]}}],
        "lots": [{"id": str(lot.number), "title": lot.title,
                  **({"value": {"amount": float(lot.amount_ht), "currency": "EUR"}} if lot.amount_ht else {})}
                 for lot in t.lots],
        "tenderPeriod": {"startDate": _iso(published),
                         **({"endDate": _iso(t.reception_deadline)} if t.reception_deadline else {})},
    }
    if t.published_at:
        tender["datePublished"] = _iso(t.published_at)
    if t.ended:  # the schema's final-state fields, besides the deprecated status
        tender["finalStatus"] = tender_status
        tender["finalStatusDetails"] = legal_mention(t)
        tender["finalStatusDate"] = _iso(date)
    if t.corrections:
        tender["amendments"] = [
            {"id": f"rectificatif-{c.number}", "date": _iso(c.published_at), "rationale": c.reason,
             "description": "; ".join(f"{CORRECTABLE.get(ch['field'], ch['field'])} : {ch['old'] or '—'} → "
                                      f"{ch['new'] or '—'}" for ch in c.changes)}
            for c in t.corrections]
    release = {
        "ocid": ocid,
        "id": f"{ocid}-{tag[0]}-{date:%Y-%m-%dT%H%M%S}-{len(t.corrections)}-{len(t.awards)}",
        "date": _iso(date),
        "tag": tag,
        "initiationType": "tender",
        "language": "fr",
        "parties": [
            {"id": buyer_id, "name": t.collectivity.name, "roles": ["buyer", "procuringEntity"],
             "identifier": {"scheme": "FR-SIRET", "id": t.buyer_siret, "legalName": t.collectivity.name}},
        ] + [{"id": sid, "name": name, "roles": ["supplier"],
               "identifier": {"scheme": "FR-SIRET", "id": sid.removeprefix("FR-SIRET-"), "legalName": name}}
              for sid, name in suppliers.items()],
        "buyer": {"id": buyer_id, "name": t.collectivity.name},
        "tender": tender,
    }
    if t.awards:
        release["awards"] = [{"id": f"{a.contract_id}-A", "status": "active", "date": _ts(a.notified_on),
                              "value": {"amount": float(a.amount_ht), "currency": "EUR"},
                              "suppliers": [{"id": f"FR-SIRET-{a.holder_siret}", "name": a.holder_name}],
                              "relatedLots": [str(a.lot_number)]} for a in t.awards]
        release["contracts"] = [{"id": a.contract_id, "awardID": f"{a.contract_id}-A", "title": t.title,
                                 "status": "active", "value": {"amount": float(a.amount_ht), "currency": "EUR"},
                                 "dateSigned": _ts(a.notified_on)} for a in t.awards]
    _check(release, _extended_release_schema(), jsonschema.Draft4Validator)
    return release


def ocds_package(t, uri: str) -> dict:
    """The release of :func:`ocds_release` in an OCDS release package published at ``uri``, declaring the extensions
    its release uses; the package is validated too."""
    release = ocds_release(t)
    package = {
        "uri": uri,
        "version": "1.1",
        "extensions": list(OCDS_EXTENSIONS),
        "publishedDate": _iso(dt.datetime.now(dt.timezone.utc)),
        "publisher": {"name": t.collectivity.name, "scheme": "FR-SIRET", "uid": t.buyer_siret},
        "releases": [release],
    }
    _validate(package, "ocds-release-package-schema.json", jsonschema.Draft4Validator)
    return package

"""The JSON API takes exactly what its OpenAPI document publishes: the same schema checks the query parameters."""
from __future__ import annotations

import jsonschema
import pytest


def _amount_schema(client) -> dict:
    doc = client.get("/api/v1/openapi.json").get_json()
    params = doc["paths"]["/tenders/procedure"]["get"]["parameters"]
    return next(p for p in params if p["name"] == "amount")["schema"]


@pytest.mark.parametrize("amount", ["-1", "0", "0.01", "59999", "85000", "1e10", "12e9", "abc", "NaN"])
def test_procedure_api_and_its_openapi_schema_agree_on_amount(app, tenders_world, login_as, amount):
    sec = login_as("secretary_a")
    schema = _amount_schema(sec)
    try:
        value = float(amount)
        allowed = value == value and jsonschema.Draft202012Validator(schema).is_valid(value)
    except ValueError:
        allowed = False
    resp = sec.get(f"/api/v1/tenders/procedure?nature=works&amount={amount}&date=2026-05-01")
    assert resp.status_code == (200 if allowed else 400), (amount, schema, resp.get_json())
    if not allowed:
        assert "amount" in resp.get_json()["message"]


def test_procedure_api_refuses_a_missing_or_unknown_nature_and_a_bad_date(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    for query in ("amount=1000", "nature=food&amount=1000", "nature=works&amount=1000&date=2026-02-30"):
        resp = sec.get(f"/api/v1/tenders/procedure?{query}")
        assert resp.status_code == 400 and resp.get_json()["message"], query

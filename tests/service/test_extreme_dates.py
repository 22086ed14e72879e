"""Dates at the ends of the calendar in every date and date-time query parameter of every service
(0001-01-01, 9999-12-31 and the same as date-times): a day after 9999-12-31 or a China midnight
before year 1 does not exist, and arithmetic on them overflows — each must be answered (an empty
answer or a 4xx problem naming the field), never a 500. The OpenAPI fuzzer rarely draws these."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import bearer
from tests.service.test_fuzz import FACTORIES, PROBLEM_JSON, SHARED_PREFIXES

EXTREMES = {"date": ["0001-01-01", "9999-12-31"],
            "date-time": ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-12:00",
                          "0001-01-01T00:00:00+14:00"]}


def _date_params(schema: dict) -> list[tuple[str, str, list[dict], str]]:
    """(path, method, other required parameters, name) of every date or date-time query parameter."""
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method != "get":
                continue
            params = operation.get("parameters", [])
            for param in params:
                kinds = [param.get("schema", {})] + param.get("schema", {}).get("anyOf", [])
                kind = next((k["format"] for k in kinds if k.get("format") in EXTREMES), None)
                if param["in"] == "query" and kind:
                    found.append((path, kind, [p for p in params if p.get("required") and p is not param],
                                  param["name"]))
    return found


def _value(param: dict) -> str:
    schema = param.get("schema", {})
    if schema.get("format") == "uuid" or "id" in param["name"]:
        return str(uuid.uuid4())
    if schema.get("format") == "date":
        return "2017-06-30"
    if schema.get("type") == "integer":
        return str(max(schema.get("minimum", 2017), 2017) if "year" in param["name"] else schema.get("minimum", 1))
    if "enum" in schema:
        return schema["enum"][0]
    if "division" in param["name"]:
        return "652722000000"
    return "x"


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_dates_at_the_ends_of_the_calendar_are_answered_not_a_server_error(service, databases):
    app = FACTORIES[service](await databases.new(service), run_background=False)
    headers = bearer(app.state.settings, "admin", sub=f"dates-{service}")
    found = {}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://testserver") as client:
            schema = (await client.get("/openapi.json")).json()
            operations = _date_params(schema)
            assert operations or service in ("audit", "projects"), "no date parameter found: the walk is broken"
            for path, kind, required, name in operations:
                if service != "registry" and path.startswith(SHARED_PREFIXES):
                    continue
                url = path
                for param in required:
                    if param["in"] == "path":
                        url = url.replace("{" + param["name"] + "}", _value(param))
                query = {p["name"]: _value(p) for p in required if p["in"] == "query"}
                for value in EXTREMES[kind]:
                    response = await client.get(url, params={**query, name: value}, headers=headers)
                    kind_of = response.headers.get("content-type", "")
                    if response.status_code >= 500 or (400 <= response.status_code < 500
                                                       and not kind_of.startswith((PROBLEM_JSON, "text/html"))):
                        found[f"GET {path}?{name}={value}"] = f"{response.status_code} {response.text[:160]}"
    assert not found, "\n".join(f"- {k}: {v}" for k, v in sorted(found.items()))

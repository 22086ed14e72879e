"""Every answer of every operation is described (issue 14): a 2xx JSON answer names a model, and
any other media type (a CSV, an XLSX, an XML payment file, a signed note) is declared with a string
schema — never "any object" nor nothing, so a generated client gets a class or bytes, not ``dict``.

Every operation of every service is walked: one added without a model fails."""

from __future__ import annotations

import pytest

from shared.config import SERVICES, settings_for

JSON = "application/json"


def _spec(service: str) -> dict:
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    return module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x")).openapi()


def _models(schema: dict) -> bool:
    """A schema that names a model (or a list of one, or one of several)."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _models(schema.get("items", {}))
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    return bool(alternatives) and all(_models(a) or a.get("type") == "null" for a in alternatives)


def answers(spec: dict):
    """(method, path, status, media type, schema) of every 2xx answer."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("2") and status != "204":
                    content = answer.get("content") or {None: {}}
                    for media, body in content.items():
                        yield method.upper(), path, status, media, body.get("schema") or {}


def unmodelled(spec: dict) -> set[tuple[str, str]]:
    return {(method, path) for method, path, _, media, schema in answers(spec) if media == JSON and not _models(schema)}


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_has_a_schema_and_every_json_answer_a_model(service):
    spec = _spec(service)
    undeclared = [f"{method} {path} {status} {media}" for method, path, status, media, schema in answers(spec)
                  if media is None or (media != JSON and not schema)]
    assert undeclared == [], "answers without a media type or schema"
    files = [f"{method} {path} {media}" for method, path, _, media, schema in answers(spec)
             if media != JSON and schema.get("type") != "string"]
    assert files == [], "non-JSON answers are strings (text or binary)"
    assert sorted(unmodelled(spec)) == [], "answers without a model (give the route `responses={2xx: {'model': …}}`)"


@pytest.mark.parametrize("service", SERVICES)
async def test_liveness_readiness_and_the_clock_answer_their_models(service):
    """The operations every service shares, answered by an app whose database is not there: live,
    not ready (503, the same model), the clock — each an instance of its documented model, closed."""
    import httpx

    from tests.service.answer_models import assert_documented

    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1:1/x"))
    spec = app.openapi()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        live = await client.get("/healthz")
        assert_documented(spec, "/healthz", live.json(), model="LivenessOut")
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("down")
        assert_documented(spec, "/readyz", ready.json(), status="503", model="ReadinessOut")
        clock = await client.get("/dev/clock")
        assert_documented(spec, "/dev/clock", clock.json(), model="ClockOut")

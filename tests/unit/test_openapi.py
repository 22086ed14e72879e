"""Every endpoint of every service is described in its OpenAPI document."""

import re
import warnings

import pytest

from shared.config import SERVICES, settings_for


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_summary_a_description_and_a_unique_id(service):
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns on duplicate operation ids
        spec = app.openapi()
    undocumented = [f"{method.upper()} {path}" for path, operations in spec["paths"].items()
                    for method, operation in operations.items()
                    if not (operation.get("summary") and operation.get("description"))]
    assert undocumented == []
    assert {"/healthz", "/readyz", "/metrics", "/events", "/events/verify", "/public/announcements"} <= set(spec["paths"])


def _spec(service: str) -> dict:
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    return module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x")).openapi()


def _operations(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_camel_case_names_not_fastapis_defaults(service):
    ids = [operation["operationId"] for _, _, operation in _operations(_spec(service))]
    assert len(ids) == len(set(ids))
    not_chosen = [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)+", i)]
    assert not_chosen == []  # FastAPI's default is e.g. create_announcements_post
    assert {"createAnnouncement", "listAnnouncements", "checkLiveness"} <= set(ids)


@pytest.mark.parametrize("service", SERVICES)
def test_every_write_declares_its_idempotency_key_and_every_operation_its_problems(service):
    spec = _spec(service)
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, operation in _operations(spec):
        keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        if method in {"POST", "PUT", "PATCH", "DELETE"} and path != "/dev/clock":
            assert len(keys) == 1, f"{method} {path}"
            optional = operation.get("x-idempotency") == "optional"
            assert keys[0]["in"] == "header" and keys[0]["required"] is not optional, f"{method} {path}"
            success = [answer for status, answer in operation["responses"].items() if status.startswith("2")]
            assert all("Idempotent-Replayed" in answer.get("headers", {}) for answer in success)
            assert {"409", "422"} <= set(operation["responses"])
        else:
            assert keys == [], f"{method} {path}"
        problems = {status: answer for status, answer in operation["responses"].items()
                    if status >= "400" and path != "/readyz"  # readiness answers its checks as JSON
                    and (path, status) != ("/public/objections", "422")}  # the villager's look-up form, again
        for answer in problems.values():
            assert answer["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        if path not in ("/healthz", "/readyz", "/metrics"):
            assert "Retry-After" in problems["503"]["headers"], f"{method} {path}"
        if operation.get("security"):
            assert {"401", "403"} <= set(problems), f"{method} {path}"
        if "{" in path:
            assert "404" in problems, f"{method} {path}"

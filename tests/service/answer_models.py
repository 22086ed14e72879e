"""Test support: an answer checked against the model its operation documents in the service's own
OpenAPI document (``/openapi.json``), closed — a field the model does not name fails as much as a
field of the wrong type or a required one missing, so a model that does not describe what the route
answers fails (issue 14)."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema_rs


def closed(components: dict[str, Any]) -> dict[str, Any]:
    """The component schemas with every model's open ``extra`` shut: only documented fields pass."""
    shut = copy.deepcopy(components)
    for schema in shut.get("schemas", {}).values():
        if "properties" in schema:
            schema["additionalProperties"] = False
    return shut


def assert_documented(spec: dict[str, Any], path: str, body: Any, *, method: str = "get", status: str = "200",
                      model: str | None = None) -> None:
    """``body`` (an answer of ``method path``) is an instance of the operation's documented model
    (``model``: its name; for an answer that is a list, the name of its items' model)."""
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    named = schema["items"] if schema.get("type") == "array" else schema  # a list of a model, or a model
    assert "$ref" in named, f"{method.upper()} {path} documents no model: {schema}"
    if model is not None:
        assert named["$ref"] == f"#/components/schemas/{model}"
    validator = jsonschema_rs.validator_for({**schema, "components": closed(spec["components"])})
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {path} answers outside its model: {errors[:8]}"


class EveryAnswer:
    """Checks every 2xx JSON answer a test client receives against the model its operation
    documents (:func:`assert_documented`, closed), and keeps which operations were checked — so a
    test drives a flow as usual and then asserts the operations it covered.
    ``EveryAnswer(spec).on(client)`` hooks it into an ``httpx.AsyncClient``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked: set[tuple[str, str]] = set()
        # the most literal template first, as the router matches a literal path before a parameter
        self._templates = sorted(((re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
                                  for path in spec["paths"]), key=lambda t: t[1].count("{"))

    def on(self, client: Any) -> EveryAnswer:
        client.event_hooks["response"].append(self._check)
        return self

    def template(self, method: str, path: str) -> str | None:
        return next((t for pattern, t in self._templates
                     if pattern.match(path) and method in self.spec["paths"][t]), None)

    async def _check(self, response: Any) -> None:
        method, status = response.request.method.lower(), str(response.status_code)
        if not (200 <= response.status_code < 300) or not response.headers.get("content-type", "").startswith(
                "application/json"):
            return
        path = self.template(method, response.request.url.path)
        documented = self.spec["paths"][path][method]["responses"].get(status, {}) if path else {}
        schema = documented.get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" not in (schema.get("items", {}) if schema.get("type") == "array" else schema):
            return  # not (yet) modelled: tests/unit/test_openapi_answers.py lists it
        await response.aread()
        assert_documented(self.spec, path, response.json(), method=method, status=status)
        self.checked.add((method.upper(), path))

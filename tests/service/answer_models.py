"""Test support: an answer checked against the model its operation documents in the service's own
OpenAPI document (``/openapi.json``), closed — a field the model does not name fails as much as a
field of the wrong type or a required one missing, so a model that does not describe what the route
answers fails (issue 14)."""

from __future__ import annotations

import copy
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

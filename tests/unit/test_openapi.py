"""Every endpoint of every service is described in its OpenAPI document."""

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

"""The OpenAPI fuzzer: schemathesis over every service's schema, in-process, real PostgreSQL.

Every operation of every service gets positive and negative examples, and positive examples with
hostile text (NUL and other controls, lone surrogates, invisible-only, huge) in every string
(deterministic, bounded by ``FUPIN_FUZZ_EXAMPLES`` per operation and mode) with an admin token — admin passes every role
check, so the examples reach the handlers — and the public routes again without a token. The
shared routes (health, feed, announcements, dev clock) are the same code in every service and are
fuzzed once, in the registry.

Asserted for every response: never a 5xx (the audit's 503 for an unreachable service is a
dependency outage and must carry ``Retry-After``), and every 4xx is ``application/problem+json`` —
except the notice board's objection form and its receipt look-up form, which answer a villager's
browser with the page re-rendered around the refused fields (HTML 422, by design). And, as a
generated client would rely on (issue 14): the status is one the operation documents, the media
type is one it documents for that status, the body matches the documented schema (schemathesis'
``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``), and a
400/422 refusing a schema-invalid request (a negative example) names the refused field in ``errors``.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.python.asgi import shutdown_lifespans

from services.audit.app import create_app as audit_app
from services.funds.app import create_app as funds_app
from services.projects.app import create_app as projects_app
from services.registry.app import create_app as registry_app
from tests.conftest import bearer
from tests.strategies import hostile_text

EXAMPLES = int(os.environ.get("FUPIN_FUZZ_EXAMPLES", "6"))
FACTORIES = {"registry": registry_app, "funds": funds_app, "projects": projects_app, "audit": audit_app}
SHARED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/events", "/dev/", "/announcements", "/public/")
PROBLEM_JSON = "application/problem+json"
HOSTILE = "hostile"  # positive examples with hostile text (tests/strategies.py) in every string


def _is_shared(path: str) -> bool:
    return path.startswith(SHARED_PREFIXES)


def _is_public(path: str) -> bool:
    return path.startswith(("/public/", "/healthz", "/readyz", "/metrics"))


def _html_form_refusal(case, response) -> bool:
    sent = (case.media_type or "").startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    lookup = case.method.upper() == "GET" and case.path == "/public/objections"  # the receipt look-up form
    return (sent or lookup) and case.path.endswith("/objections") and response.headers.get("content-type", [""])[0].startswith(
        "text/html")


CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def _defect(case, response, mode=None) -> str | None:
    status = response.status_code
    content_type = (response.headers.get("content-type") or [""])[0]
    if status == 503 and "retry-after" in {k.lower() for k in response.headers}:
        return None
    if status >= 500:
        return f"{status} {response.text[:200]}"
    html_form = _html_form_refusal(case, response)
    if 400 <= status < 500 and not content_type.startswith(PROBLEM_JSON) and not html_form:
        return f"{status} with {content_type or 'no content type'}"
    if mode == GenerationMode.NEGATIVE and status in (400, 422) and not html_form and not response.json().get("errors"):
        return f"{status} refusing an invalid request names no field: {response.text[:200]}"
    if any(isinstance(v, str) and any(c in v for c in "/?#%") for v in (case.path_parameters or {}).values()):
        return None  # a path parameter holding a URL delimiter makes another URL (405/404 of another route)
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports failed checks as a FailureGroup
        return f"{status} outside the document: {str(exc)[:400]}"
    return None


def _poisoned(value, text: str):
    """``value`` with every string in it (keys kept) replaced by ``text``."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {k: _poisoned(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_poisoned(v, text) for v in value]
    return value


def _hostile(case, text: str) -> None:
    """A schema-valid case with hostile text in every string it sends (lone surrogates replaced:
    schemathesis' validator cannot hold them; tests/service/test_input_boundary.py sends them)."""
    text = text.encode("utf-8", "replace").decode()
    for part in ("path_parameters", "query"):
        if getattr(case, part):
            setattr(case, part, _poisoned(getattr(case, part), text))
    if isinstance(case.body, (dict, list)):
        case.body = _poisoned(case.body, text)


def _fuzz(operation, mode, headers, found: dict[str, str]) -> None:
    hostile = mode == HOSTILE

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE if hostile else mode),
           text=hostile_text() if hostile else st.just(""))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case, text):
        if hostile:
            _hostile(case, text)
        call_headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        try:
            response = case.call(headers=call_headers)
        except Exception as exc:  # the in-process client re-raises what the app's 500 handler saw
            defect = f"500 from {type(exc).__name__}: {str(exc)[:200]}"
        else:
            defect = _defect(case, response, mode)
        if defect:  # collected, not raised: one run lists every defective operation
            found.setdefault(f"{operation.label} [{mode}]", f"{defect}\n    {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:  # no negative example exists for an operation without inputs
        pass


@pytest.fixture(params=sorted(FACTORIES))
async def service_app(request, databases):
    service = request.param
    app = FACTORIES[service](await databases.new(service), run_background=False)
    yield service, app
    shutdown_lifespans()  # the fuzzer's client started the app's lifespan: dispose its engine


def test_no_input_gets_a_server_error(service_app):
    service, app = service_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    admin = bearer(app.state.settings, "admin", sub=f"fuzz-admin-{service}")
    found: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if service != "registry" and _is_shared(operation.path):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE, HOSTILE):
            _fuzz(operation, mode, admin, found)
            if _is_public(operation.path):
                _fuzz(operation, mode, {}, found)
    assert not found, f"{len(found)} defective operations in {service}:\n" + "\n".join(
        f"- {label}: {defect}" for label, defect in sorted(found.items()))

"""The OpenAPI document of every service, made fit for generated clients.

FastAPI describes what a route's signature declares; the contract around it lives in the web
layer and is added here, once for every service:

* **operationIds** a person would choose (``createAnnouncement``, ``listHouseholds``): the
  endpoint's function name in camelCase when it names an action and a thing, else the table
  below (the function is called ``create`` inside the announcements router);
* the **``Idempotency-Key``** request header on every write of an idempotent route (required
  unless the route declares ``x-idempotency: optional``) and the ``Idempotent-Replayed``
  response header of a replayed answer (see :mod:`shared.web.idempotency`);
* the **problem+json** answers (RFC 9457) each operation can give — 400/422 for bad input, 401/403
  when it needs a token, 404 when it names a resource, 409 for writes, 503 with ``Retry-After``
  when the database is down — all with the one ``Problem`` schema (FastAPI's own
  ``HTTPValidationError`` is never what the API answers, see :mod:`shared.web.problems`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing

from shared.policy.citations import public_text
from shared.web.export import CSV, EXPORT_ATTR, XLSX, document
from shared.web.idempotency import HEADER, REPLAYED, WRITE_METHODS, IdempotentRoute, route_access
from shared.web.problems import PROBLEM_JSON, RETRY_AFTER_SECONDS

#: operationIds of endpoints whose function name alone does not say what they act on,
#: by (method, path, function name).
OPERATION_IDS: dict[tuple[str, str, str], str] = {
    ("GET", "/healthz", "healthz"): "checkLiveness",
    ("GET", "/readyz", "readyz"): "checkReadiness",
    ("GET", "/metrics", "metrics"): "readMetrics",
    ("POST", "/announcements", "create"): "createAnnouncement",
    ("GET", "/announcements", "list_"): "listAnnouncements",
    ("GET", "/announcements/{announcement_id}", "read"): "readAnnouncement",
    ("POST", "/announcements/{announcement_id}/publish", "publish"): "publishAnnouncement",
    ("POST", "/announcements/{announcement_id}/withdraw", "withdraw"): "withdrawAnnouncement",
    ("POST", "/announcements/{announcement_id}/objections/{objection_id}/resolve", "resolve"): "resolveObjection",
    ("GET", "/public/announcements", "list_announcements"): "listPublicAnnouncements",
    ("GET", "/public/announcements/{announcement_id}", "read_announcement"): "readPublicAnnouncement",
    ("GET", "/public/board/{division}", "board"): "readPublicBoard",
    ("GET", "/public/grievances/{receipt}", "public_status"): "readGrievanceStatus",
    ("POST", "/projects/{code}/steps/{action}", "take_step"): "stepProject",
    ("GET", "/purposes", "purpose_list"): "listPurposes",
    ("GET", "/registry-households", "registry_households"): "listRegistryHouseholds",
    ("POST", "/departments/{dept}/lists", "department_list"): "submitDepartmentList",
    ("GET", "/departments/{dept}/lists/template", "department_template"): "downloadDepartmentListTemplate",
    ("PUT", "/persons/{id_number}/departments/{dept}", "department_update"): "updatePersonDepartment",
    ("POST", "/disbursement-batches", "post_batch"): "postDisbursementBatch",
    ("POST", "/results-notices", "results_notice"): "createResultsNotice",
    ("POST", "/households", "propose"): "proposeHousehold",
    ("GET", "/households", "search"): "listHouseholds",
    ("GET", "/households/{household_id}", "read"): "readHousehold",
    ("POST", "/households/{household_id}/steps/{action}", "step"): "stepHousehold",
    ("GET", "/households/{household_id}/routing", "routing"): "readHouseholdRouting",
    ("POST", "/households/{household_id}/monitoring", "monitor"): "monitorHousehold",
    ("PUT", "/households/{household_id}/housing", "housing"): "recordHousing",
    ("GET", "/households/{household_id}/benefits", "benefits"): "listHouseholdBenefits",
    ("GET", "/persons/{id_number}", "person"): "readPerson",
    ("POST", "/persons/lookup", "lookup"): "lookupPersons",
    ("GET", "/statistics", "figures"): "readStatistics",
    ("GET", "/evaluations/{division}", "evaluation"): "readEvaluation",
    ("PUT", "/divisions", "load"): "loadDivisions",
    ("GET", "/imports", "history"): "listImports",
    ("GET", "/imports/template", "template"): "downloadImportTemplate",
    ("POST", "/grievances", "receive"): "receiveGrievance",
    ("GET", "/grievances", "search"): "listGrievances",
    ("GET", "/grievances/{grievance_id}", "read"): "readGrievance",
    ("POST", "/grievances/{grievance_id}/steps/{action}", "step"): "stepGrievance",
    ("POST", "/change-requests", "propose"): "proposeChangeRequest",
    ("GET", "/change-requests", "search"): "listChangeRequests",
    ("POST", "/change-requests/{request_id}/decision", "decide"): "decideChangeRequest",
    ("GET", "/reports/duplicates", "report"): "reportDuplicates",
    ("POST", "/duplicates/{candidate_id}/review", "review"): "reviewDuplicate",
    ("POST", "/appropriations", "appropriate"): "createAppropriation",
    ("POST", "/allocations", "allocate"): "createAllocation",
    ("POST", "/integrations", "integrate"): "createIntegration",
    ("POST", "/commitments", "commit"): "createCommitment",
    ("POST", "/disbursements", "disburse"): "createDisbursement",
    ("POST", "/strandings", "strand"): "createStranding",
    ("POST", "/reallocations", "reallocate"): "createReallocation",
    ("GET", "/reports/spending", "spending"): "reportSpending",
    ("GET", "/balances", "balances"): "listBalances",
    ("GET", "/trace", "trace"): "traceFunds",
    ("GET", "/projects/{code}", "project"): "readProjectFunds",
    ("POST", "/projects", "propose"): "proposeProject",
    ("GET", "/projects", "search"): "listProjects",
    ("GET", "/projects/{code}", "read"): "readProject",
    ("GET", "/figures", "figures"): "readProjectFigures",
    ("POST", "/assets/{asset_id}/distributions", "distribute"): "distributeAsset",
    ("POST", "/projects/{code}/evaluation", "evaluate"): "evaluateProject",
}

_PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def _camel(words: list[str]) -> str:
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


def operation_id(route: Any) -> str:
    """The operationId of ``route`` (FastAPI's ``generate_unique_id_function``)."""
    method = sorted(route.methods)[0]
    path = route.path_format
    named = OPERATION_IDS.get((method, path, route.name))
    if named:
        return named
    words = [w for w in route.name.split("_") if w]
    if len(words) < 2:  # a bare verb: say what it acts on (the path's first segment)
        resource = next((s for s in path.split("/") if s and not _PATH_PARAMETER.fullmatch(s)), "root")
        words += re.split(r"[^A-Za-z0-9]+", resource)
    return _camel(words)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "问题详情 (RFC 9457 problem details): every refusal of the API has this shape.",
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "问题类型 (problem type URI)"},
        "title": {"type": "string", "description": "简短标题 (short title)"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string", "description": "中英文说明 (explanation, Chinese and English)"},
        "instance": {"type": "string", "description": "请求路径 (the request's path)"},
        "errors": {
            "type": "array",
            "description": "字段错误 (the fields refused and why)",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["field", "reason"],
            },
        },
        "citation": {"type": "string", "description": "所依据的政策文件 (the policy document a rule comes from)"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}

_PROBLEM_TEXT = {
    "400": "请求无效 (bad request)",
    "401": "需要身份令牌 (a valid bearer token is required)",
    "403": "无权执行 (the caller's role or jurisdiction does not allow it)",
    "404": "未找到 (no such resource, named in the path or the body)",
    "409": "冲突 (conflicts with the current state, or the same Idempotency-Key is still in flight)",
    "422": "数据或规则不符 (a field or a rule refused the request; `errors` names the fields)",
    "503": "暂不可用 (a dependency is unavailable; retry after `Retry-After` seconds)",
}


def _problem(status: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _PROBLEM_TEXT.get(status, "refused"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == "503":
        answer["headers"] = {"Retry-After": {
            "description": f"重试前等待的秒数 (seconds to wait before retrying, {RETRY_AFTER_SECONDS} by default)",
            "schema": {"type": "integer", "minimum": 0}}}
    return answer


_KEY_PARAMETER = {
    "name": HEADER, "in": "header",
    "description": "幂等键：同一写请求重试时使用同一个键，只执行一次 (a key chosen by the client, e.g. a UUID; "
                   "a retry with the same key and body answers the stored response once more)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_REPLAYED_HEADER = {
    "description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}


#: liveness and metrics need no database; readiness answers its own JSON checks with its 503
_NO_PROBLEM_503 = frozenset({"/healthz", "/readyz", "/metrics"})


def _routes(app: FastAPI):
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    return contexts(app.routes) if contexts else app.routes


def _hoist_local_definitions(node: Any, schemas: dict[str, Any]) -> Any:
    """A body schema given by hand (``openapi_extra``, from ``Model.model_json_schema()``) keeps
    its models under ``$defs`` with ``#/$defs/…`` references, which only resolve inside that
    schema; generators resolve from the document root. Move them to ``components/schemas``."""
    if isinstance(node, list):
        return [_hoist_local_definitions(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    for name, definition in node.pop("$defs", {}).items():
        schemas.setdefault(name, _hoist_local_definitions(definition, schemas))
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
    return {key: _hoist_local_definitions(value, schemas) for key, value in node.items()}


def _rename_qualified_models(spec: dict[str, Any]) -> dict[str, Any]:
    """Two models of one class name (``DecisionIn`` of households and of corrections) get
    FastAPI's qualified keys, ``services__registry__api__households__DecisionIn``, both titled
    ``DecisionIn``, which generators name classes by — one of them would be lost. Name each by its
    module and class (``HouseholdsDecisionIn``), key and title alike."""
    schemas = spec["components"]["schemas"]
    renames: dict[str, str] = {}
    for key in [k for k in schemas if "__" in k]:
        *modules, name = key.split("__")
        short = modules[-1].title().replace("_", "") + name
        renames[key] = short if short not in schemas and short not in renames.values() else key.replace("__", "_")
    if not renames:
        return spec
    for old, new in renames.items():
        schemas[new] = {**schemas.pop(old), "title": new}
    text = json.dumps(spec)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    return json.loads(text)


def _public_descriptions(node: Any) -> Any:
    """Descriptions name documents, not the project's internal files (``seed 004 L27`` in a
    docstring becomes the plan's title; ``DOMAIN §6`` goes)."""
    if isinstance(node, list):
        return [_public_descriptions(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: public_text(value) if key in ("description", "summary") and isinstance(value, str)
            else _public_descriptions(value) for key, value in node.items()}


#: answers that are text a person or a program reads as it comes; any other non-JSON answer is a file
_TEXT_MEDIA = re.compile(r"^(text/.*|application/(.+\+)?xml)$")


def _typed_media(answer: dict[str, Any]) -> None:
    """A non-JSON answer a route declared without a schema (``{"text/plain": {}}``) is a string —
    text, or a binary file (a spreadsheet): generators then hand it over as text or bytes."""
    for media, content in answer.get("content", {}).items():
        if media != "application/json" and not content.get("schema"):
            content["schema"] = {"type": "string"} if _TEXT_MEDIA.match(media) else {"type": "string", "format": "binary"}


def _format_choices(operation: dict[str, Any]) -> set[str]:
    """The values of an operation's own ``format`` query parameter (``json|csv|xlsx|html``)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "format" and parameter.get("in") == "query":
            schema = parameter.get("schema", {})
            options = schema.get("anyOf", [schema])
            return {value for option in options for value in option.get("enum", [])}
    return set()


def _document_own_files(operation: dict[str, Any]) -> None:
    """A report that writes its own file by ``?format=csv|xlsx|html`` lists those media types
    beside its JSON answer, as an :func:`shared.web.export.exportable` one does."""
    choices = _format_choices(operation)
    ok = operation.get("responses", {}).get("200")
    if ok is None or not choices & {"csv", "xlsx", "html"}:
        return
    content = ok.setdefault("content", {})
    if "csv" in choices:
        content.setdefault(CSV, {"schema": {"type": "string", "description": "UTF-8 with BOM, 中文表头"}})
    if "xlsx" in choices:
        content.setdefault(XLSX, {"schema": {"type": "string", "format": "binary"}})
    if "html" in choices:
        content.setdefault("text/html", {"schema": {"type": "string"}})


def _complete(app: FastAPI, spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    spec["paths"] = _hoist_local_definitions(spec["paths"], schemas)
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for route in _routes(app):
        if not getattr(route, "include_in_schema", False) or not getattr(route, "methods", None):
            continue
        original = getattr(route, "original_route", route)
        access = route_access(route.dependant)
        extra = getattr(route, "openapi_extra", None) or {}
        for method in route.methods:
            operation = spec["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            write = method in WRITE_METHODS
            responses = operation.setdefault("responses", {})
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):  # FastAPI's own, never answered
                responses.pop("422")
            statuses = ["503"] if route.path_format not in _NO_PROBLEM_503 else []
            if write or operation.get("parameters") or operation.get("requestBody"):
                statuses += ["400", "422"]
            if access.authenticated:
                statuses += ["401", "403"]
            if "{" in route.path_format or write:  # a write may name a resource in its body too
                statuses.append("404")
            if write:
                statuses.append("409")
            for status in statuses:
                responses.setdefault(status, _problem(status))
            for status, answer in responses.items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and "$ref" in schema:  # a model given in `responses`: it, not `dict`
                    answer["content"]["application/json"]["schema"] = {"$ref": schema["$ref"]}
            for status, answer in responses.items():  # a route's own words about a status are kept
                if status >= "400" and route.path_format not in _NO_PROBLEM_503:
                    # beside them, a problem: the input boundary and validation answer one on any route
                    answer.setdefault("content", {}).setdefault(
                        PROBLEM_JSON, {"schema": {"$ref": "#/components/schemas/Problem"}})
                    if status == "503":
                        answer.setdefault("headers", _problem("503")["headers"])
            for status, answer in responses.items():
                if status.startswith("2"):
                    _typed_media(answer)
            operation["responses"] = dict(sorted(responses.items()))
            responses = operation["responses"]
            if (export := getattr(route.endpoint, EXPORT_ATTR, None)) is not None and not write:
                document(operation, export)
            elif not write:
                _document_own_files(operation)
            if write and isinstance(original, IdempotentRoute):
                optional = extra.get("x-idempotency") == "optional"
                operation.setdefault("parameters", []).insert(0, {**_KEY_PARAMETER, "required": not optional})
                for status, answer in responses.items():
                    if status.startswith("2"):
                        answer.setdefault("headers", {})[REPLAYED] = _REPLAYED_HEADER
    return _public_descriptions(_rename_qualified_models(spec))


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the completed document (built once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""Which reads export (issue 14): every GET operation of every service either documents its
spreadsheet answers — ``text/csv`` and XLSX beside JSON, with a ``format`` parameter — or is named
below as not a table a person would open in Excel, with why. A new read must be put on one side;
the figures the files hold are checked against the JSON by the service tests
(``tests/exports.py``)."""

from __future__ import annotations

import pytest

from shared.config import SERVICES
from shared.web.export import CSV, XLSX
from tests.unit.test_openapi_answers import _spec

#: why a read is no spreadsheet, by path (on whichever service serves it)
MACHINE = "for programs: the log, proofs, keys, health, clock"
ONE = "one record, not a list"
PAGE = "a page, a feed or a file of its own"
CODES = "a code list (GET /catalogue has them all)"
NOT_A_SPREADSHEET: dict[str, str] = {
    **dict.fromkeys((
        "/.well-known/fupin-keys", "/checkpoints", "/checkpoints/latest", "/checkpoints/proof", "/events",
        "/events/verify", "/events/{seq}/proof", "/healthz", "/readyz", "/metrics", "/dev/clock", "/witness",
        "/witness/alarms", "/witness/checkpoint", "/witness/cosignatures", "/audit/verify", "/registry-households",
    ), MACHINE),
    **dict.fromkeys((
        "/announcements/{announcement_id}", "/public/announcements/{announcement_id}",
        "/public/announcements/{announcement_id}/receipt", "/households/{household_id}", "/persons/{id_number}",
        "/households/{household_id}/routing", "/households/{household_id}/benefits/{benefit_id}/receipt",
        "/evaluations/{division}", "/evaluations/{division}/error-rates", "/grievances/{grievance_id}",
        "/public/grievances/{receipt}", "/divisions/{code}", "/projects/{code}", "/payee-households/{household_id}",
        "/postings/{posting_id}/receipt", "/assets/{asset_id}", "/pairings/{pairing_id}", "/projects/{code}/evaluation",
        "/public/objections/{receipt}", "/public/notices/{announcement_id}",
    ), ONE),
    **dict.fromkeys((
        "/public/board/{division}", "/public/board/{division}/feed.atom", "/public/boards/{division}",
        "/public/boards/{division}/feed.atom",
        "/public/objections", "/departments/{dept}/lists/template", "/exports/roll", "/imports/template",
        "/payment-files/{file_id}/csv", "/payment-files/{file_id}/pain.001", "/docs", "/redoc",
    ), PAGE),
    **dict.fromkeys(("/catalogue", "/purposes", "/divisions"), CODES),
}

def _exports(operation: dict) -> bool:
    content = operation["responses"].get("200", {}).get("content", {})
    return CSV in content and XLSX in content and any(p["name"] == "format" for p in operation.get("parameters", []))


@pytest.mark.parametrize("service", SERVICES)
def test_every_read_exports_or_says_why_not(service):
    spec = _spec(service)
    reads = {path: ops["get"] for path, ops in spec["paths"].items() if "get" in ops}
    unclassified = sorted(p for p, op in reads.items() if not _exports(op) and p not in NOT_A_SPREADSHEET)
    assert unclassified == [], "reads that neither export nor say why not"
    for path, operation in reads.items():
        if _exports(operation) and path not in NOT_A_SPREADSHEET:  # a template is a file, not a list's answer
            parameter = next(p for p in operation["parameters"] if p["name"] == "format")
            assert parameter["in"] == "query" and "Accept" in parameter.get("description", ""), path

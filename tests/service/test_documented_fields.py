"""What the OpenAPI document says of a field is what the service does: a field documented as
optional is accepted when missing, and one the service refuses when missing is documented as
required (a generated client leaves an optional field out)."""

from __future__ import annotations

from tests.service.funds_support import CENTRAL, committed_project

DOCUMENTED = {"/appropriations", "/allocations", "/integrations", "/returns", "/reallocations"}


def _body_schema(spec: dict, path: str) -> dict:
    ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


async def test_document_no_is_required_exactly_where_the_ledger_refuses_it_missing(funds):
    f = funds
    spec = (await f.client.get("/openapi.json")).json()
    for path in DOCUMENTED:
        assert "document_no" in _body_schema(spec, path)["required"], path
    for path in ("/commitments", "/disbursements"):
        assert "document_no" not in _body_schema(spec, path).get("required", []), path

    missing = await f.post("/appropriations", CENTRAL, amount="100.00")
    assert missing.status_code == 422 and {"field": "document_no", "reason": "Field required"} in missing.json()["errors"]
    blank = await f.post("/appropriations", CENTRAL, amount="100.00", document_no="   ")
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "document_no"
    assert (await f.db("SELECT count(*) AS n FROM postings"))[0]["n"] == 0

    committed = await committed_project(f, "50000.00", down="100000.00")
    assert committed.status_code == 201, committed.text  # documented optional, and optional

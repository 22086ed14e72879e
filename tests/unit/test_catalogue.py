"""Catalogues (GET /catalogue) and citations that name real documents."""

import json
import re

import httpx
import pytest

from shared.config import SERVICES, settings_for
from shared.policy import load_policy
from shared.policy.citations import SEED_TITLES, SYSTEM_DEFAULT, public_citation, public_text
from tests.service.answer_models import assert_documented

INTERNAL = re.compile(r"DOMAIN(\.md)? ?§|ARCHITECTURE(\.md)? ?§|seed 0\d\d")


def test_a_citation_names_the_plans_by_title_and_drops_handbook_references():
    assert public_citation("seed 003 L193; DOMAIN.md §3") == SEED_TITLES["003"]
    assert public_citation("seed 003 L481; seed 003 L497; seed 002 L788") == f"{SEED_TITLES['003']}; {SEED_TITLES['002']}"
    budget_law = "《中华人民共和国预算法》(2014年修正) 第五十二条"
    assert public_citation(f"{budget_law}; DOMAIN.md §4") == budget_law
    assert public_citation("DOMAIN.md §4") == SYSTEM_DEFAULT
    assert public_text("须在30日内下达 (seed 004 L27; DOMAIN.md §4)") == f"须在30日内下达 ({SEED_TITLES['004']})"
    assert public_text("content — DOMAIN §6). Each level") == "content). Each level"


def test_no_rule_of_the_policy_table_reads_as_an_internal_file_to_people():
    for rule in load_policy(()):
        assert not INTERNAL.search(public_citation(rule.citation)), rule


def _app(service):
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    return module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x"))


@pytest.mark.parametrize("service", SERVICES)
async def test_the_catalogue_is_public_and_labels_every_code_in_chinese_and_english(service):
    app = _app(service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answer = await client.get("/catalogue")  # no token
    assert answer.status_code == 200
    catalogue = answer.json()
    assert catalogue["service"] == service
    names = [c["name"] for c in catalogue["lists"]]
    assert len(names) == len(set(names)) and {"announcement_status", "announcement_level"} <= set(names)
    for code_list in catalogue["lists"]:
        assert code_list["zh"] and code_list["en"] and code_list["fields"], code_list["name"]
        codes = [c["code"] for c in code_list["codes"]]
        assert codes and len(codes) == len(set(codes)), code_list["name"]
        assert all(c["zh"] and c["en"] for c in code_list["codes"]), code_list["name"]
    assert not INTERNAL.search(answer.text)
    assert_documented(app.openapi(), "/catalogue", catalogue, model="CatalogueOut")  # every fact named, closed


async def test_the_funds_catalogue_marks_the_negative_list_and_the_channels_facts():
    app = _app("funds")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        lists = {c["name"]: c for c in (await client.get("/catalogue")).json()["lists"]}
    purposes = {c["code"]: c for c in lists["purpose"]["codes"]}
    forbidden = {code for code, c in purposes.items() if c["forbidden"]}
    assert len(forbidden) == 9 and "admin_basic_expenditure" in forbidden and "industry_development" not in forbidden
    assert "财农〔2017〕8号" in lists["purpose"]["citation"]
    water = {c["code"]: c for c in lists["channel"]["codes"]}["agri_integrated_drinking_water"]
    assert water == {"code": "agri_integrated_drinking_water", "zh": "农村饮水安全巩固提升工程资金",
                     "en": "rural drinking-water safety consolidation funds", "origin": "central", "integrable": True,
                     "source_level": "central"}
    onward = {c["code"]: c for c in lists["funds_rule"]["codes"]}["funds.deadline.central_onward"]
    assert "预算法" in onward["citation"] and "" in onward["jurisdictions"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_names_no_internal_file(service):
    assert not INTERNAL.search(json.dumps(_app(service).openapi(), ensure_ascii=False))


def _enum_fields(spec: dict, schema, parent: str = "", name: str | None = None, seen: set | None = None, found=None):
    """``{field: codes}`` of every property an answer's schema gives an ``enum`` (a code list), and
    ``{field}`` of every ``*_label`` property, walking the models it names; ``field`` is the JSON
    key, with its parent's key beside it (``period.unit``) for lists named by a nested field."""
    seen = set() if seen is None else seen
    found = ({}, set()) if found is None else found
    if not isinstance(schema, dict):
        return found
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if (ref, parent, name) not in seen:
            seen.add((ref, parent, name))
            _enum_fields(spec, spec["components"]["schemas"][ref], parent, name, seen, found)
        return found
    if "enum" in schema and name:
        found[0].setdefault((parent, name), set()).update(schema["enum"])
    for key, value in schema.get("properties", {}).items():
        if key.endswith("_label"):
            found[1].add((name or "", key))
        _enum_fields(spec, value, name or "", key, seen, found)
    if isinstance(schema.get("items"), dict):
        _enum_fields(spec, schema["items"], parent, name, seen, found)
    if isinstance(schema.get("additionalProperties"), dict):
        _enum_fields(spec, schema["additionalProperties"], parent, name, seen, found)
    for key in ("anyOf", "oneOf", "allOf"):
        for value in schema.get(key, []):
            _enum_fields(spec, value, parent, name, seen, found)
    return found


def catalogue_fields(catalogue: dict) -> dict[str, set[str]]:
    """The catalogue's own field map: field (``kind`` or ``period.unit``) → the codes of every list naming it."""
    fields: dict[str, set[str]] = {}
    for code_list in catalogue["lists"]:
        for field in code_list["fields"]:
            fields.setdefault(field, set()).update(c["code"] for c in code_list["codes"])
    return fields


@pytest.mark.parametrize("service", SERVICES)
async def test_every_coded_field_an_answer_documents_is_in_the_catalogue_with_all_its_codes(service):
    """A class check over the OpenAPI document (issue 14): every field any 2xx answer of the service
    documents as a code list (an ``enum``) is named by a list of its catalogue — by its key, or by
    ``parent.key`` — and each of its codes is one of that list's; every ``x_label`` beside a code
    has its ``x`` in the catalogue's field map. A code field missing from the map, or a code the
    catalogue does not label, fails here; the demo's answers are checked against the same map in
    ``tests/e2e/test_demo.py``."""
    app = _app(service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        fields = catalogue_fields((await client.get("/catalogue")).json())
    spec = app.openapi()
    found: tuple[dict, set] = ({}, set())
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                for content in answer.get("content", {}).values() if status.startswith("2") else ():
                    _enum_fields(spec, content.get("schema", {}), found=found)
    coded, labelled = found
    assert coded, "no coded field found: the walk is broken"
    missing = sorted(f"{parent}.{name}" for parent, name in coded if name not in fields and f"{parent}.{name}" not in fields)
    assert missing == [], "coded answer fields no catalogue list names"
    unknown = {f"{parent}.{name}": sorted(codes - fields.get(name, set()) - fields.get(f"{parent}.{name}", set()))
               for (parent, name), codes in coded.items()}
    assert {f: c for f, c in unknown.items() if c} == {}, "codes the catalogue does not list"
    unlabelled = sorted(f"{parent}.{key}" for parent, key in labelled
                        if key.removesuffix("_label") not in fields and f"{parent}.{key.removesuffix('_label')}" not in fields)
    assert unlabelled == [], "labels beside fields no catalogue list names"

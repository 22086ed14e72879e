"""The input boundary through the real services and real PostgreSQL: control characters in every
kind of input, JSON depth and body size, blank names, bounded numbers, refused ranges, domain
refusals and peer outages — each a 4xx (or 503) problem, and nothing written."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings

from services.audit.app import create_app as audit_app
from services.projects.app import create_app as projects_app
from services.registry.app import create_app as registry_app
from tests.conftest import bearer, fetch, serving
from tests.service.registry_support import COUNTY, VILLAGE, family
from tests.service.test_announcements import build as announcements_app
from tests.service.test_announcements import clock_at, household_list, key, published, village, START
from tests.strategies import blank_names, deep_json, hostile_text

PROBLEM = "application/problem+json"
HYPOTHESIS = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def refused(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def event_count(settings_) -> int:
    return (await fetch(settings_, "SELECT count(*) AS n FROM events"))[0]["n"]


# -- control characters, every kind of input -----------------------------------------------------

async def test_a_nul_in_a_query_parameter_is_refused_naming_it(registry):
    response = await registry.client.get("/households", params={"name": "王\x00五"},
                                         headers=registry.token("county_office", COUNTY))
    refused(response, 422, "query.name")


async def test_a_nul_in_a_path_parameter_is_refused_naming_it(registry):
    response = await registry.client.get("/persons/65272219800101%00001", headers=registry.token("county_office", COUNTY))
    refused(response, 422, "path.id_number")
    public = await registry.client.get("/public/announcements/%00")
    refused(public, 422, "path.announcement_id")


async def test_a_control_character_in_a_header_value_is_refused_and_nothing_is_written(registry):
    headers = {**registry.token("village", VILLAGE), "Idempotency-Key": "key\x01one"}
    response = await registry.client.post("/households", json={"division": VILLAGE, "poverty_attribute": "general",
                                                                "main_cause": "illness", "members": family(1)},
                                          headers=headers)
    refused(response, 422, "header.idempotency-key")
    assert await event_count(registry.settings) == 0


async def test_a_nul_deep_in_a_json_body_is_refused_naming_its_path(registry):
    members = family(2)
    members[1]["name"] = "李\u0000某"
    response = await registry.propose(members)
    body = refused(response, 422, "members.1.name")
    assert "U+0000" in body["detail"]
    assert await event_count(registry.settings) == 0


async def test_raw_del_and_c1_characters_in_a_json_body_are_refused(registry):
    for char, index in (("\x7f", 0), ("\u0085", 1)):  # sent raw (UTF-8), not as \u escapes
        members = family(12 + index)
        members[index]["details"] = {"employment": f"外出{char}务工"}  # free text: only the boundary checks it
        refused(await registry.propose(members), 422, f"members.{index}.details.employment")


async def test_a_control_character_in_a_json_key_is_refused(registry):
    members = family(3)
    members[0]["details"] = {"insurance\x07": "新农合"}
    refused(await registry.propose(members), 422, "members.0.details.insurance\x07")


async def test_free_text_keeps_its_newlines_and_tabs(databases):
    settings_ = await databases.new("registry")
    async with serving(announcements_app(settings_, clock_at(START))) as client:
        body = household_list()
        body["content"]["body"] = "第一行\n\t第二行\r\n第三行"
        response = await client.post("/announcements", json=body, headers=key(village(settings_)))
        assert response.status_code == 201, response.text


async def test_the_anonymous_objection_form_refuses_a_nul(databases):
    settings_ = await databases.new("registry")
    async with serving(announcements_app(settings_, clock_at(START))) as client:
        announcement_id = await published(client, settings_)
        before = await event_count(settings_)
        form = await client.post(f"/public/announcements/{announcement_id}/objections",
                                 data={"text": "王某家庭收入\x00较高，不符合条件", "name": "张三"})
        refused(form, 422, "text")
        as_json = await client.post(f"/public/announcements/{announcement_id}/objections",
                                    json={"text": "王某家庭收入较高，不符合条件", "phone": "138\x0012345678"})
        refused(as_json, 422, "phone")
        assert await event_count(settings_) == before


async def test_the_text_fields_of_a_multipart_upload_are_checked(registry):
    files = {"file": ("households.csv", "户编号,姓名\n".encode(), "text/csv")}
    response = await registry.client.post("/imports", files=files, data={"note": "批次\x00一"},
                                          headers=registry.headers("county_office", COUNTY))
    refused(response, 422, "note")


async def test_a_body_the_framework_cannot_read_is_a_problem_naming_the_body(registry):
    # schemathesis found the multipart case: Starlette's bare 400 "Invalid multipart data."
    before = await event_count(registry.settings)
    boundary = "9cc651cd2c8d168349f50fede4c361ac"
    broken = await registry.client.post(
        "/imports", content=f"--{boundary}\r\nFalse--{boundary}--\r\n".encode(),
        headers={**registry.headers("county_office", COUNTY), "content-type": f"multipart/form-data; boundary={boundary}"})
    assert "multipart" in refused(broken, 400, "body")["errors"][0]["reason"]
    not_json = await registry.client.post("/households", content=b'{"division": nope}',
                                          headers={**registry.headers("village", VILLAGE),
                                                   "content-type": "application/json"})
    assert refused(not_json, 422, "body")["errors"][0]["reason"].startswith("不是有效的 JSON")  # not "13"
    assert await event_count(registry.settings) == before


async def test_a_nul_in_a_text_body_is_refused_with_its_line(registry):
    csv = "code,name,level\n652722000000,精河县\x00,county\n"
    response = await registry.client.put("/divisions", content=csv.encode(),
                                         headers={**registry.headers("admin", "000000000000"),
                                                  "content-type": "text/csv"})
    refused(response, 422, "body (line 2)")


@given(text=hostile_text())
@HYPOTHESIS
async def test_no_hostile_string_anywhere_gets_a_server_error_or_writes(registry, text):
    before = await event_count(registry.settings)
    members = family(4)
    members[0]["name"] = text
    raw = json.dumps({"division": VILLAGE, "poverty_attribute": "general", "main_cause": "illness",
                      "members": members}).encode()  # ASCII-escaped, so lone surrogates travel too
    body = refused(await registry.client.post("/households", content=raw, headers={
        **registry.headers("village", VILLAGE), "content-type": "application/json"}), 422)
    assert body["errors"]
    search = await registry.client.get("/households", params={"name": text[:200].encode("utf-8", "replace").decode()},
                                       headers=registry.token("county_office", COUNTY))
    assert search.status_code < 500
    assert await event_count(registry.settings) == before


async def test_a_cursor_is_input_too(registry):
    county = registry.token("county_office", COUNTY)
    for position in (["成员\u0000"], [2**70], [True]):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        refused(await registry.client.get("/households", params={"cursor": cursor}, headers=county), 422, "cursor")
    refused(await registry.client.get("/public/announcements", params={"cursor": cursor}), 422, "cursor")


# -- JSON depth and body size, before parsing ----------------------------------------------------

@given(raw=deep_json())
@HYPOTHESIS
async def test_deeply_nested_json_is_refused_before_parsing_even_anonymously(registry, raw):
    response = await registry.client.post("/public/announcements/00000000-0000-0000-0000-000000000000/objections",
                                          content=raw, headers={"content-type": "application/json"})
    refused(response, 422, "body")
    declared = await registry.client.post("/households", content=raw,
                                          headers={**registry.headers("village", VILLAGE),
                                                   "content-type": "application/json"})
    refused(declared, 422, "body")


async def test_json_within_the_depth_limit_still_reaches_the_route(registry):
    members = family(5)
    members[0]["details"] = {"a": {"b": {"c": [[["深"]]]}}}
    assert (await registry.propose(members)).status_code == 201


async def test_a_body_over_the_limit_is_a_413_before_it_is_read(databases):
    settings_ = await databases.new("registry", max_body_bytes=4096)
    async with serving(registry_app(settings_, run_background=False)) as client:
        headers = {**bearer(settings_, "village", VILLAGE), "Idempotency-Key": "big"}
        big = {"division": VILLAGE, "poverty_attribute": "general", "main_cause": "illness",
               "members": family(6), "note": "长" * 5000}
        response = await client.post("/households", json=big, headers=headers)
        refused(response, 413)

        async def streamed():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 1000

        response = await client.post("/households", content=streamed(),
                                     headers={**headers, "content-type": "application/json"})
        refused(response, 413)
        assert await event_count(settings_) == 0


# -- names that show nothing ---------------------------------------------------------------------

@given(blank=blank_names())
@HYPOTHESIS
async def test_blank_or_invisible_names_are_refused(registry, blank):
    members = family(7)
    members[0]["name"] = blank
    refused(await registry.propose(members), 422, "members.0.name")


async def test_blank_announcement_titles_and_helper_names_are_refused(databases):
    settings_ = await databases.new("registry")
    async with serving(announcements_app(settings_, clock_at(START))) as client:
        response = await client.post("/announcements", json=household_list(title="\u200b\u3000\u200d"),
                                     headers=key(village(settings_)))
        refused(response, 422, "title")
        person = household_list()
        person["people"][0]["name"] = "\ufeff"
        refused(await client.post("/announcements", json=person, headers=key(village(settings_))), 422,
                "people.0.name")


async def test_a_name_is_one_line(registry):
    members = family(8)
    members[0]["name"] = "王\n五"
    refused(await registry.propose(members), 422, "members.0.name")


# -- numbers bounded by their columns ------------------------------------------------------------

async def test_years_and_seqs_beyond_their_columns_are_refused(databases, registry):
    county = registry.token("county_office", COUNTY)
    refused(await registry.client.get("/households", params={"year": 2**40}, headers=county), 422, "query.year")
    admin = registry.token("admin", "000000000000")
    refused(await registry.client.get("/events", params={"after": 2**70}, headers=admin), 422, "query.after")
    refused(await registry.client.get("/events/verify", params={"from_seq": 2**64}, headers=admin), 422,
            "query.from_seq")
    settings_ = await databases.new("projects")
    async with serving(projects_app(settings_, run_background=False)) as client:
        token = bearer(settings_, "county_office", COUNTY)
        refused(await client.get("/projects", params={"year": -(2**33)}, headers=token), 422, "query.year")
        refused(await client.get("/figures", params={"year": 2**58}, headers=token), 422, "query.year")


async def test_openapi_states_the_bounds(registry):
    schema = (await registry.client.get("/openapi.json")).json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/events"]["get"]["parameters"]}
    assert params["after"]["maximum"] == 2**63 - 1 and params["after"]["minimum"] == 0
    search = {p["name"]: p["schema"] for p in schema["paths"]["/households"]["get"]["parameters"]}
    assert search["year"]["anyOf"][0]["maximum"] == 2100


async def test_an_inverted_verify_range_is_refused_not_reported_as_a_broken_chain(registry):
    await registry.propose(family(9))
    response = await registry.client.get("/events/verify", params={"from_seq": 5, "to_seq": 2},
                                         headers=registry.token("auditor", "000000000000"))
    refused(response, 422, "query.to_seq")


# -- domain refusals and outages -----------------------------------------------------------------

async def test_an_evaluation_without_population_data_is_a_clear_422(registry):
    response = await registry.client.get(f"/evaluations/{COUNTY}", params={"year": 2016},
                                         headers=registry.token("county_office", COUNTY))
    body = refused(response, 422, "division")
    assert body["type"].endswith("/no-population-data")


async def test_the_audit_answers_503_with_retry_after_when_a_peer_is_down(databases):
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    settings_ = await databases.new("audit", registry_url=closed, funds_url=closed, projects_url=closed)
    async with serving(audit_app(settings_, run_background=False)) as client:
        response = await client.get("/audit/verify", headers=bearer(settings_, "auditor", "000000000000"))
        refused(response, 503)
        assert int(response.headers["retry-after"]) > 0


async def test_the_boundary_lets_ordinary_requests_through(registry):
    proposed = await registry.propose(family(10))
    assert proposed.status_code == 201, proposed.text
    found = await registry.client.get("/households", params={"name": "成员10-0"},
                                      headers=registry.token("county_office", COUNTY))
    assert found.status_code == 200 and found.json()["items"]



async def test_a_division_loaded_with_an_invisible_name_is_refused(registry):
    rows = [{"code": "652722000000", "name": "\u200b\u3000", "level": "county"}]
    response = await registry.client.put("/divisions", json=rows, headers=registry.headers("admin", "000000000000"))
    body = refused(response, 422)
    assert any(e["field"].endswith("name") for e in body["errors"]), body


async def test_a_refusal_needs_a_visible_reason(registry):
    proposed = await registry.propose(family(11))
    assert proposed.status_code == 201, proposed.text
    response = await registry.step(proposed.json()["id"], "appraise", "village", VILLAGE, decision="reject",
                                   reason="\u200b\u200b\u3000\u200d")
    refused(response, 422)
    assert (await registry.get(proposed.json()["id"]))["status"] == "proposed"

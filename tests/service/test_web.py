"""The shared web layer on real PostgreSQL: idempotency, auth, problem+json, health, metrics,
pagination, correlation ids, log masking."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import libpq_url
from shared.events.note import Signer
from shared.idcard import make_id
from shared.logging import get_logger
from tests.conftest import bearer, run_cli, serving
from tests.service import webapp

COUNTY = "652722000000"


@pytest.fixture
async def app_client(databases):
    settings = await databases.new("registry")
    async with serving(webapp.build(settings)) as client:
        yield settings, client


async def count_events(settings) -> int:
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        return await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()


def thing(name="枸杞", amount="1234.50", division=COUNTY):
    return {"name": name, "amount": amount, "division": division}


def finance(settings, division=COUNTY):
    return bearer(settings, "county_finance", division)


def with_key(headers, key):
    return {**headers, "Idempotency-Key": key}


# -- idempotency -----------------------------------------------------------------------------------

async def test_same_key_same_body_replays_the_first_response(app_client):
    settings, client = app_client
    headers = with_key(finance(settings), "k-1")
    first = await client.post("/things", json=thing(), headers=headers)
    again = await client.post("/things", json=thing(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await count_events(settings) == 1


async def test_same_key_other_body_is_422_and_changes_nothing(app_client):
    settings, client = app_client
    headers = with_key(finance(settings), "k-2")
    assert (await client.post("/things", json=thing(), headers=headers)).status_code == 201
    other = await client.post("/things", json=thing(amount="99.00"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count_events(settings) == 1


async def test_keys_are_scoped_to_the_caller(app_client):
    settings, client = app_client
    alice = with_key(bearer(settings, "county_finance", COUNTY, sub="alice"), "shared-key")
    bob = with_key(bearer(settings, "county_finance", COUNTY, sub="bob"), "shared-key")
    assert (await client.post("/things", json=thing(), headers=alice)).status_code == 201
    second = await client.post("/things", json=thing(), headers=bob)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert await count_events(settings) == 2


async def test_a_stored_response_is_never_replayed_to_another_principal(app_client):
    """Same subject and key, another division or role: the request is authorised and run for its
    own principal — never answered with the first caller's stored body."""
    settings, client = app_client
    first = await client.post("/things", json=thing("枸杞-1"), headers=with_key(
        bearer(settings, "county_finance", COUNTY, sub="clerk"), "same-key"))
    assert first.status_code == 201
    for headers in (bearer(settings, "county_finance", "652701", sub="clerk"),      # another county
                    bearer(settings, "county_office", COUNTY, sub="clerk"),         # another role
                    bearer(settings, "department", COUNTY, sub="clerk", dept="health")):
        other = await client.post("/things", json=thing("枸杞-1"), headers=with_key(headers, "same-key"))
        assert other.status_code == 403, other.text
        assert "Idempotent-Replayed" not in other.headers and "seq" not in other.json()
    assert await count_events(settings) == 1


async def test_a_replay_needs_a_valid_token_allowed_on_the_route(app_client):
    settings, client = app_client
    headers = with_key(finance(settings), "k-auth")
    assert (await client.post("/things", json=thing(), headers=headers)).status_code == 201
    forged = with_key({"Authorization": "Bearer " + jwt.encode({"sub": "test-county_finance"}, "guess" * 8, "HS256")}, "k-auth")
    refused = await client.post("/things", json=thing(), headers=forged)
    assert refused.status_code == 401 and "Idempotent-Replayed" not in refused.headers
    anonymous = await client.post("/things", json=thing(), headers={"Idempotency-Key": "k-auth"})
    assert anonymous.status_code == 401


async def test_a_retry_while_its_first_attempt_is_in_its_group_waits_and_replays_it(databases):
    """Group commit (shared/web/group_commit.py, guarantee 5): the claim is a row of the group's
    transaction, so no one sees it in flight — the retry joins the next group, which runs once the
    first has committed, and replays its response."""
    settings = await databases.new("registry")
    app = webapp.build(settings)
    async with serving(app) as client:
        await _retry_waits_and_replays(settings, client, app)


async def _retry_waits_and_replays(settings, client, app):
    webapp.gates["slow-grouped"] = asyncio.Event()
    headers = with_key(finance(settings), "k-3g")
    first = asyncio.create_task(client.post("/things", json=thing("slow-grouped"), headers=headers))
    for _ in range(500):  # until the first request's group runs its endpoint
        await asyncio.sleep(0.01)
        group = (getattr(app.state, "group_commits", None) or {}).get("writes")
        if group is not None and group.committer is not None and not group.committer.done() and not group.waiting:
            break
    retry = asyncio.create_task(client.post("/things", json=thing("slow-grouped"), headers=headers))
    for _ in range(500):  # until the retry waits for the next group
        await asyncio.sleep(0.01)
        if group.waiting:
            break
    assert not retry.done() and await count_claims(settings) == 0  # nothing in flight is visible
    webapp.gates["slow-grouped"].set()
    first_answer, retry_answer = await first, await retry
    assert first_answer.status_code == 201 and "Idempotent-Replayed" not in first_answer.headers
    assert retry_answer.status_code == 201 and retry_answer.headers["Idempotent-Replayed"] == "true"
    assert retry_answer.json() == first_answer.json()
    assert await count_events(settings) == 1


async def test_a_request_in_flight_answers_409_when_writes_are_not_grouped(databases):
    settings = await databases.new("registry", group_commit_max_members=1)
    async with serving(webapp.build(settings)) as client:
        await _in_flight_409(settings, client)


async def _in_flight_409(settings, client):
    webapp.gates["slow"] = asyncio.Event()
    headers = with_key(finance(settings), "k-3")
    first = asyncio.create_task(client.post("/things", json=thing("slow"), headers=headers))
    for _ in range(200):  # until the first request holds the claim
        await asyncio.sleep(0.01)
        if await count_claims(settings) == 1:
            break
    concurrent = await client.post("/things", json=thing("slow"), headers=headers)
    assert concurrent.status_code == 409
    assert concurrent.headers["content-type"] == "application/problem+json"
    webapp.gates["slow"].set()
    assert (await first).status_code == 201
    replay = await client.post("/things", json=thing("slow"), headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await count_events(settings) == 1


async def count_claims(settings) -> int:
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        return await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE state = 'in_flight'")
    finally:
        await conn.close()


async def test_a_refused_request_leaves_no_event_and_frees_its_key(app_client):
    settings, client = app_client
    headers = with_key(finance(settings), "k-4")
    refused = await client.post("/things", json=thing("refuse-me"), headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"] == [{"field": "name", "reason": "refused"}]
    assert await count_events(settings) == 0
    assert await count_claims(settings) == 0
    # the key is free again: the same key may carry a corrected request
    fixed = await client.post("/things", json=thing("accepted"), headers=headers)
    assert fixed.status_code == 201 and await count_events(settings) == 1


async def test_a_crash_rolls_back_and_releases_the_key(databases):
    settings = await databases.new("registry")
    async with serving(webapp.build(settings)) as client:
        with pytest.raises(RuntimeError, match="boom"):
            await client.post("/things", json=thing("crash"), headers=with_key(finance(settings), "k-5"))
    assert await count_events(settings) == 0 and await count_claims(settings) == 0


async def test_an_expired_claim_of_a_dead_attempt_is_taken_over(app_client):
    settings, client = app_client
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:  # a claim left by a process that died before committing anything
        await conn.execute(
            "INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, owner, locked_until) "
            "VALUES ('sub:test-county_finance', 'k-6', 'POST', '/things', $1, 'in_flight', gen_random_uuid(), "
            "now() - interval '1 second')",
            __import__("shared.web.idempotency", fromlist=["request_hash"]).request_hash(
                "POST", "/things", "", json.dumps(thing()).encode()),
        )
    finally:
        await conn.close()
    response = await client.post("/things", content=json.dumps(thing()),
                                 headers={**with_key(finance(settings), "k-6"), "content-type": "application/json"})
    assert response.status_code == 201 and await count_events(settings) == 1


async def test_writes_without_a_key_are_refused(app_client):
    settings, client = app_client
    response = await client.post("/things", json=thing(), headers=finance(settings))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "Idempotency-Key", "reason": "required"}]
    assert await count_events(settings) == 0


# -- validation and problem+json -------------------------------------------------------------------

@pytest.mark.parametrize("body,field,fragment", [
    (thing(amount="12.345"), "amount", "金额"),
    (thing(amount=12.5), "amount", "金额"),
    (thing(division="65272"), "division", "区划"),
    ({"amount": "1.00", "division": COUNTY}, "name", "Field required"),
])
async def test_invalid_input_is_problem_json_naming_field_and_reason(app_client, body, field, fragment):
    settings, client = app_client
    response = await client.post("/things", json=body, headers=with_key(finance(settings), f"v-{field}-{len(str(body))}"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("/validation")
    [error] = [e for e in problem["errors"] if e["field"] == field]
    assert fragment in error["reason"]
    assert await count_events(settings) == 0


async def test_unknown_route_is_problem_json_404(app_client):
    _, client = app_client
    response = await client.get("/no/such/thing")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


# -- auth ------------------------------------------------------------------------------------------

async def test_no_token_is_401(app_client):
    _, client = app_client
    response = await client.post("/things", json=thing(), headers={"Idempotency-Key": "a-1"})
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"


async def test_bad_signature_is_401(app_client):
    settings, client = app_client
    forged = jwt.encode({"sub": "x", "roles": ["admin"], "division": "000000000000", "iss": "fupin",
                         "aud": "fupin", "exp": int(time.time()) + 60},
                        "not-the-secret-but-long-enough-for-hs256", algorithm="HS256")
    response = await client.get(f"/things/{COUNTY}", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and "invalid token" in response.json()["detail"]


async def test_expired_token_is_401(app_client):
    settings, client = app_client
    old = jwt.encode({"sub": "x", "roles": ["county_finance"], "division": COUNTY, "iss": "fupin", "aud": "fupin",
                      "exp": int(time.time()) - 10}, settings.jwt_secret, algorithm="HS256")
    response = await client.get(f"/things/{COUNTY}", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401


async def test_wrong_role_is_403(app_client):
    settings, client = app_client
    response = await client.post("/things", json=thing(), headers=with_key(bearer(settings, "county_office", COUNTY), "a-2"))
    assert response.status_code == 403 and response.headers["content-type"] == "application/problem+json"


async def test_auditors_read_but_never_write(app_client):
    settings, client = app_client
    await client.post("/things", json=thing(), headers=with_key(finance(settings), "a-3"))
    auditor = bearer(settings, "auditor", "650000")
    assert (await client.get(f"/things/{COUNTY}", headers=auditor)).status_code == 200
    write = await client.post("/things", json=thing("x"), headers=with_key(auditor, "a-4"))
    assert write.status_code == 403
    assert await count_events(settings) == 1


async def test_records_outside_the_callers_division_are_403(app_client):
    settings, client = app_client
    other_county = finance(settings, "652701")
    write = await client.post("/things", json=thing(), headers=with_key(other_county, "a-5"))
    assert write.status_code == 403 and "outside your jurisdiction" in write.json()["detail"]
    await client.post("/things", json=thing(), headers=with_key(finance(settings), "a-6"))
    read = await client.get(f"/things/{COUNTY}", headers=other_county)
    assert read.status_code == 403
    # a province-level auditor covers the county; another province's does not
    assert (await client.get(f"/things/{COUNTY}", headers=bearer(settings, "auditor", "650000"))).status_code == 200
    assert (await client.get(f"/things/{COUNTY}", headers=bearer(settings, "auditor", "140000"))).status_code == 403
    assert await count_events(settings) == 1


async def test_token_cli_prints_a_token_the_services_accept(app_client):
    settings, client = app_client
    code, output = await run_cli("token", "issue", "--role", "county_finance", "--division", "652722", "--sub", "王会计",
                                 env={"FUPIN_JWT_SECRET": settings.jwt_secret})
    assert code == 0, output
    token = output.strip()
    claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], audience="fupin")
    assert claims["sub"] == "王会计" and claims["roles"] == ["county_finance"] and claims["division"] == COUNTY
    response = await client.post("/things", json=thing(), headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "c-1"})
    assert response.status_code == 201


async def test_development_tokens_of_a_role_have_distinct_subjects(app_client):
    settings, _ = app_client
    subjects = set()
    for division in ("652722", "652701"):
        code, output = await run_cli("token", "issue", "--role", "county_finance", "--division", division,
                                     env={"FUPIN_JWT_SECRET": settings.jwt_secret})
        assert code == 0, output
        subjects.add(jwt.decode(output.strip(), settings.jwt_secret, algorithms=["HS256"], audience="fupin")["sub"])
    assert subjects == {"dev-county_finance-652722000000", "dev-county_finance-652701000000"}


@pytest.mark.parametrize("args,message", [
    (["--role", "mayor", "--division", "652722"], "mayor"),
    (["--role", "county_office", "--division", "65272"], "区划"),
    (["--role", "county_office", "--division", "650000"], "county level"),
    (["--role", "department", "--division", "652722"], "dept"),
])
async def test_token_cli_refuses_bad_claims(args, message):
    code, output = await run_cli("token", "issue", *args)
    assert code == 2 and message in output


class _JwksHandler(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


async def test_production_verifies_tokens_against_the_jwks(databases):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _JwksHandler.body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    server = HTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = await databases.new("registry", env="production", service_token="issued-by-the-idp",
                                       jwt_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks",
                                       log_keys={"registry": Signer.generate("fupin.example/dev/registry").key_string()})
        claims = {"sub": "idp-user", "roles": ["county_finance"], "division": COUNTY, "iss": "fupin", "aud": "fupin",
                  "exp": int(time.time()) + 300}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        hs = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
        async with serving(webapp.build(settings)) as client:
            ok = await client.post("/things", json=thing(), headers={"Authorization": f"Bearer {good}", "Idempotency-Key": "j-1"})
            assert ok.status_code == 201
            refused = await client.get(f"/things/{COUNTY}", headers={"Authorization": f"Bearer {hs}"})
            assert refused.status_code == 401  # the development secret means nothing in production
    finally:
        server.shutdown()


# -- operations: health, readiness, metrics, correlation, logs, pagination --------------------------

async def test_health_and_readiness(app_client):
    _, client = app_client
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "registry"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "not configured"}


async def test_readiness_fails_when_the_broker_is_down(databases):
    from deploy.embedded import free_port

    settings = await databases.new("registry", kafka_bootstrap=f"127.0.0.1:{free_port()}")
    async with serving(webapp.build(settings, run_background=False)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "down"


async def test_readiness_sees_the_broker(databases, broker):
    settings = await databases.new("registry", kafka_bootstrap=broker.bootstrap)
    async with serving(webapp.build(settings, run_background=False)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["broker"] == "ok"


async def test_metrics_count_committed_events_and_requests(app_client):
    settings, client = app_client
    def appended() -> float:
        from prometheus_client import REGISTRY
        return REGISTRY.get_sample_value("fupin_events_appended_total",
                                         {"service": "registry", "type": "test.thing.created"}) or 0.0

    before = appended()
    await client.post("/things", json=thing(), headers=with_key(finance(settings), "m-1"))
    await client.post("/things", json=thing("refuse-it"), headers=with_key(finance(settings), "m-2"))
    assert appended() == before + 1  # the rolled-back event is not counted
    text = (await client.get("/metrics")).text
    assert 'fupin_http_request_duration_seconds_count{method="POST",route="/things",service="registry",status="201"}' in text
    assert "fupin_events_appended_total" in text


async def test_correlation_id_travels_into_the_event(app_client):
    settings, client = app_client
    response = await client.post("/things", json=thing(), headers={**with_key(finance(settings), "x-1"),
                                                                   "X-Correlation-ID": "req-42"})
    assert response.headers["x-correlation-id"] == "req-42"
    assert response.json()["correlation_id"] == "req-42"


def test_logs_never_carry_a_full_id_number(capfd):
    from shared.logging import configure

    configure("INFO", True)
    number = make_id("652722", __import__("datetime").date(1980, 5, 17), 123)
    get_logger("test").info("looked up person", id_number=number, note=f"person {number} found")
    err = capfd.readouterr().err
    assert number not in err
    line = json.loads(err.strip().splitlines()[-1])
    assert line["id_number"] == number[:6] + "********" + number[-4:]


async def test_cursor_pagination_walks_every_item_once(app_client):
    settings, client = app_client
    for i in range(7):
        await client.post("/things", json=thing(f"t{i}"), headers=with_key(finance(settings), f"p-{i}"))
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/things/{COUNTY}", params=params, headers=finance(settings))).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"t{i}" for i in range(7)]
    bad = await client.get(f"/things/{COUNTY}", params={"cursor": "!!!"}, headers=finance(settings))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("claims,reason", [
    ({"roles": ["mayor"], "division": COUNTY}, "unknown role"),
    ({"roles": ["village"], "division": COUNTY}, "village level"),  # a village role with a county code
    ({"roles": ["department"], "division": COUNTY}, "dept"),
])
async def test_tokens_with_unknown_roles_or_levels_are_refused(app_client, claims, reason):
    settings, client = app_client
    token = jwt.encode({"sub": "x", "iss": "fupin", "aud": "fupin", "exp": int(time.time()) + 60, **claims},
                       settings.jwt_secret, algorithm="HS256")
    response = await client.get(f"/things/{COUNTY}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and reason in response.json()["detail"]


async def test_only_national_admins_read_the_whole_log(app_client):
    settings, client = app_client
    assert (await client.get("/events", headers=bearer(settings, "admin"))).status_code == 200
    assert (await client.get("/events", headers=bearer(settings, "admin", "650000"))).status_code == 403


def test_standard_library_logs_and_nested_values_are_masked_too(capfd):
    import logging

    from shared.logging import configure

    configure("INFO", True)
    number = make_id("652722", __import__("datetime").date(1975, 3, 9), 7)
    logging.getLogger("uvicorn.error").error("Exception in ASGI application: parameters (%r,)", number)
    get_logger("test").info("nested", people=[{"id_number": number, "phone": "13812345678"}])
    err = capfd.readouterr().err
    assert number not in err and "13812345678" not in err
    assert err.count(number[:6] + "********" + number[-4:]) == 2


async def test_an_unexpected_error_is_a_problem_without_internals(databases):
    import httpx

    settings = await databases.new("registry")
    app = webapp.build(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # as a server would answer
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/things", json=thing("crash-again"), headers=with_key(finance(settings), "boom-1"))
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert "boom" not in response.text and "RuntimeError" not in response.text

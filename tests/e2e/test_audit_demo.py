"""The audit over the demo data, on the four services of one stack (tests/stack.py) with the real
broker: the whole demo (a year of 精河县: registry, projects, funds), replayed from the feeds, from
Kafka and from an export.

* a clean run finds no chain problem and no discrepancy, and its only finding is the one the demo
  builds on purpose and the funds service itself reports: 博州's late hand-on of the rural-roads
  money (a missed deadline);
* the three sources give identical results; the API and the CLI serve the same;
* a row altered in the funds database behind the trigger is found with its service and seq; a
  balance changed directly in the funds tables shows up as a discrepancy naming the account; an
  event removed from an export is a gap.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import asyncpg
import pytest_asyncio

from deploy.demo import CLOCK_START, load_demo
from services.audit.diff import Live
from services.audit.export import write_export
from services.audit.run import run_audit
from services.audit.sources import ExportSource, FeedSource, KafkaSource
from shared.clock import SettableClock
from shared.config import SERVICES, libpq_url
from shared.money import parse_yuan
from shared.policy import load_policy
from tests.conftest import run_cli
from tests.stack import ServiceStack

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(databases, broker):
    clock = SettableClock(datetime.fromisoformat(CLOCK_START).astimezone(timezone.utc))
    async with ServiceStack.start(databases, broker, clock) as stack:
        await load_demo(stack.clients, lambda role, division, dept=None: stack.token(role, division, dept), say=lambda _: None)
        yield stack


def auditor(stack: ServiceStack) -> str:
    return stack.token("auditor", CENTRAL)


async def feeds(stack: ServiceStack):
    return await FeedSource(stack.clients, auditor(stack)).load()


async def audit(stack: ServiceStack, source, *, compare: bool = True, division: str | None = None):
    live = Live(stack.clients, auditor(stack)) if compare else None
    return await run_audit(source, as_of=stack.clock.today(), division=division, policy=load_policy(), live=live)


async def funds_sql(stack: ServiceStack, *statements: str):
    settings = stack.settings["funds"]
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        async with conn.transaction():
            for statement in statements:
                result = await conn.fetch(statement)
        return result
    finally:
        await conn.close()


def comparable(result) -> dict:
    body = result.as_dict()
    for volatile in ("source", "generated_at", "notes"):
        body.pop(volatile)
    return body


async def test_a_clean_run_over_the_demo_data(stack):
    result = await audit(stack, await feeds(stack))
    assert result.verified, [c.as_dict() for c in result.chains if not c.ok] + result.reference_problems
    assert {c.service: c.checked > 0 for c in result.chains}["registry"]
    assert result.discrepancies == []
    national = {"Authorization": f"Bearer {auditor(stack)}"}
    missing = (await stack.clients["registry"].get("/reports/missing-assistance", params={"division": CENTRAL},
                                                   headers=national)).json()
    missed = (await stack.clients["funds"].get("/deadlines", params={"division": CENTRAL, "state": "missed"},
                                               headers=national)).json()["items"]
    found: dict[str, list[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.rule_id, []).append(finding.subject)
    # the demo gives every household on the roll a helper and a measure: the registry's own report is empty
    assert (missing["without_helper"], missing["without_measure"]) == ([], [])
    assert [(d["receiver"], d["channel"]) for d in missed] == [("652700000000", "agri_integrated_rural_roads")]
    deadline_rules = {d["rule_id"] for d in missed}
    deadline_findings = sorted(s for rule in deadline_rules for s in found.pop(rule, []))
    assert deadline_findings == sorted(f"deadline {d['id']} ({d['kind']})" for d in missed)
    assert found == {}, f"the demo data breaks no other rule: {found}"


async def test_feeds_kafka_and_an_export_give_identical_results(stack, tmp_path):
    from_feeds = await feeds(stack)
    write_export(tmp_path, from_feeds.events, source="test", created_at="2018-01-02T09:00:00+08:00")
    prefix = stack.settings["registry"].topic_prefix
    bootstrap = stack.settings["registry"].kafka_bootstrap
    counts = {s: len(e) for s, e in from_feeds.events.items()}

    async def kafka_complete():
        loaded = await KafkaSource(bootstrap, list(SERVICES), prefix, timeout=20).load()
        return loaded if {s: len(e) for s, e in loaded.events.items()} == counts else None

    from_kafka = await stack.wait_until(kafka_complete, timeout=90)
    results = [comparable(await audit(stack, source, compare=False))
               for source in (from_feeds, from_kafka, ExportSource(tmp_path))]
    assert results[0] == results[1] == results[2]
    assert results[0]["summary"]["events"] == sum(counts.values())


async def test_the_api_and_the_cli_serve_the_same_report(stack, tmp_path):
    audit_client = stack.clients["audit"]
    response = await audit_client.get("/audit/report", params={"division": "652722", "compare": "false"},
                                      headers={"Authorization": f"Bearer {auditor(stack)}"})
    assert response.status_code == 200, response.text
    expected = comparable(await audit(stack, await feeds(stack), compare=False, division="652722"))
    assert without_count(response.json()["summary"]) == without_count(expected["summary"])
    html = await audit_client.get("/audit/report", params={"division": "652722", "format": "html", "compare": "false"},
                                  headers={"Authorization": f"Bearer {auditor(stack)}"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    verified = await audit_client.get("/audit/verify", headers={"Authorization": f"Bearer {auditor(stack)}"})
    assert verified.json()["verified"] is True and {c["service"] for c in verified.json()["chains"]} == set(SERVICES)
    village = await audit_client.get("/audit/findings", headers={
        "Authorization": f"Bearer {stack.token('village', '652722102201')}"})
    assert village.status_code == 403
    env = {f"FUPIN_{s.upper()}_URL": str(stack.clients[s].base_url) for s in SERVICES}
    code, output = await run_cli("audit", "export", "--out", str(tmp_path / "export"), env=env)
    assert code == 0, output
    code, output = await run_cli("audit", "report", "--export", str(tmp_path / "export"), "--division", "652722",
                                 "--as-of", stack.clock.today().isoformat(), "--out", str(tmp_path / "report"), env=env)
    assert code == 0, output
    written = json.loads(next((tmp_path / "report").glob("*.json")).read_text(encoding="utf-8"))
    assert without_count(written["summary"]) == without_count({**expected["summary"], "compared_with_live": True})


def without_count(summary: dict) -> dict:
    """A report's summary but its number of events: the witnesses record their cosignatures of each other's
    checkpoints in their own logs between two reads (shared/witness/witness.py), the demo's figures stay."""
    return {k: v for k, v in summary.items() if k != "events"}


async def test_a_row_altered_behind_the_trigger_is_found_with_its_service_and_seq(stack):
    [row] = await funds_sql(stack, "SELECT seq, data::text AS data FROM events "
                                   "WHERE type = 'funds.allocation.issued' ORDER BY seq DESC LIMIT 1")
    seq, original = row["seq"], row["data"]
    await funds_sql(stack, "ALTER TABLE events DISABLE TRIGGER ALL",
                    f"UPDATE events SET data = jsonb_set(data::jsonb, '{{amount_fen}}', '1') WHERE seq = {seq}",
                    "ALTER TABLE events ENABLE TRIGGER ALL")
    try:
        result = await audit(stack, await feeds(stack), compare=False)
        [funds] = [c for c in result.chains if c.service == "funds"]
        assert [(p.service, p.kind, p.seq) for p in funds.problems] == [("funds", "hash", seq)]
    finally:
        await funds_sql(stack, "ALTER TABLE events DISABLE TRIGGER ALL",
                        f"UPDATE events SET data = $${original}$$::jsonb WHERE seq = {seq}",
                        "ALTER TABLE events ENABLE TRIGGER ALL")
    assert (await audit(stack, await feeds(stack), compare=False)).verified


async def test_a_balance_changed_directly_is_a_discrepancy_naming_the_account(stack):
    year = stack.clock.today().year
    [account] = await funds_sql(stack, f"SELECT id, balance_fen FROM accounts WHERE division = '{JINGHE}' "
                                       f"AND kind = 'available' AND channel = 'central_special' AND fiscal_year = {year}")
    await funds_sql(stack, "ALTER TABLE accounts DISABLE TRIGGER ALL",
                    f"UPDATE accounts SET balance_fen = balance_fen - 100 WHERE id = {account['id']}",
                    "ALTER TABLE accounts ENABLE TRIGGER ALL")
    try:
        result = await audit(stack, await feeds(stack))
        assert result.verified  # the events are untouched
        [discrepancy] = result.discrepancies
        assert (discrepancy.service, discrepancy.kind) == ("funds", "balance")
        assert discrepancy.subject == f"{JINGHE}:finance:central_special:{year}:available"
        assert parse_yuan(discrepancy.expected) - parse_yuan(discrepancy.actual) == 100
        assert discrepancy.seq is not None
    finally:
        await funds_sql(stack, f"UPDATE accounts SET balance_fen = {account['balance_fen']} WHERE id = {account['id']}")


async def test_an_event_removed_from_an_export_is_a_gap(stack, tmp_path):
    write_export(tmp_path, (await feeds(stack)).events, source="test", created_at="2018-01-02T09:00:00+08:00")
    lines = (tmp_path / "funds.jsonl").read_bytes().splitlines(keepends=True)
    removed = json.loads(lines[2])["seq"]
    (tmp_path / "funds.jsonl").write_bytes(b"".join(lines[:2] + lines[3:]))
    code, output = await run_cli("audit", "verify", "--export", str(tmp_path))
    assert code == 1
    assert f"funds: gap at seq {removed}" in output

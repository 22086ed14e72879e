"""Property test (hypothesis) on the real service and database: any random sequence of valid and
invalid operations keeps every invariant — the sum of all balances is zero, no non-external
balance is negative, a refused operation writes nothing, every posting has its event, and no
request ever fails with a 500.

Hypothesis drives synchronous examples, so the app and its client live on an event loop of
their own in a thread; state carries over between examples on purpose (invariants are global).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import datetime, timezone

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.funds.app import create_app
from shared.auth import issue_token
from shared.clock import SettableClock
from shared.config import libpq_url, settings_for
from shared.db import drop_database, ensure_database, make_engine, migrate

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"
ROLE = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", JINGHE: "county_finance"}
PROJECTS = ("P-A", "P-B")


class Loop:
    """An event loop in a thread, for running the app under synchronous hypothesis examples."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Service:
    def __init__(self, server_url: str):
        self.server_url = server_url
        self.name = f"fupint_prop_{uuid.uuid4().hex[:8]}"
        self.settings = settings_for("funds", database_url=server_url, database=self.name, kafka_bootstrap=None,
                                     log_level="WARNING")
        self.n = 0

    async def start(self):
        await ensure_database(self.server_url, self.name)
        engine = make_engine(self.settings.sqlalchemy_url, pool_size=1)
        await migrate(engine, "funds")
        await engine.dispose()
        self.app = create_app(self.settings, clock=SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc)),
                              run_background=False)
        self.lifespan = self.app.router.lifespan_context(self.app)
        await self.lifespan.__aenter__()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://funds")
        self.db = await asyncpg.connect(libpq_url(self.server_url, self.name))
        await self.db.execute("INSERT INTO projects_view (code, division, in_library, publicity_passed, last_event) "
                              "SELECT code, $1, true, true, 'test' FROM unnest($2::text[]) AS code", JINGHE, list(PROJECTS))

    async def stop(self):
        await self.client.aclose()
        await self.db.close()
        await self.lifespan.__aexit__(None, None, None)
        await drop_database(self.server_url, self.name)

    async def call(self, path: str, division: str, body: dict) -> int:
        self.n += 1
        token = issue_token(self.settings, sub="prop", roles=[ROLE[division]], division=division)
        body = {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01",
                "document_no": "财农〔2017〕8号", **body}
        response = await self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}",
                                                                    "Idempotency-Key": f"p-{self.n}"})
        return response.status_code

    async def state(self) -> tuple[int, int, int, int]:
        row = await self.db.fetchrow(
            "SELECT coalesce(sum(balance_fen), 0) AS total, "
            "count(*) FILTER (WHERE kind NOT IN ('appropriation', 'disbursed') AND balance_fen < 0) AS negative, "
            "(SELECT count(*) FROM postings) AS postings, "
            "(SELECT count(*) FROM events WHERE type NOT LIKE 'funds.deadline.%') AS events FROM accounts")
        return row["total"], row["negative"], row["postings"], row["events"]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


amounts = st.integers(min_value=1, max_value=3_000_000).map(yuan)
operations = st.one_of(
    st.builds(lambda a: ("/appropriations", CENTRAL, {"amount": a}), amounts),
    st.builds(lambda a, pair: ("/allocations", pair[0], {"amount": a, "to_division": pair[1]}), amounts,
              st.sampled_from([(CENTRAL, XINJIANG), (XINJIANG, BOZHOU), (BOZHOU, JINGHE), (JINGHE, BOZHOU)])),
    st.builds(lambda a: ("/integrations", JINGHE, {"amount": a, "plan": "整合方案"}), amounts),
    st.builds(lambda a, p, src: ("/commitments", JINGHE, {"amount": a, "project_code": p, "source": src,
                                                          "plan": "整合方案" if src == "pool" else None}),
              amounts, st.sampled_from(PROJECTS + ("P-UNKNOWN",)), st.sampled_from(["pool", "available"])),
    st.builds(lambda a, p: ("/disbursements", JINGHE, {"amount": a, "project_code": p,
                                                       "payee": {"kind": "contractor", "name": "施工方"}}),
              amounts, st.sampled_from(PROJECTS)),
    st.builds(lambda a, p: ("/strandings", JINGHE, {"amount": a, "project_code": p, "reason": "无法实施"}),
              amounts, st.sampled_from(PROJECTS)),
    st.builds(lambda a, p: ("/returns", JINGHE, {"amount": a, "project_code": p}), amounts, st.sampled_from(PROJECTS)),
    st.builds(lambda a: ("/reallocations", XINJIANG, {"amount": a, "to_division": JINGHE}), amounts),
)


@pytest.fixture(scope="module")
def service(pg_url):
    loop = Loop()
    svc = Service(pg_url)
    loop.run(svc.start())
    yield loop, svc
    _, _, postings, _ = loop.run(svc.state())
    print(f"\nproperty test: {svc.n} requests, {postings} postings")
    loop.run(svc.stop())
    loop.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operations, min_size=1, max_size=10))
def test_random_operations_keep_every_invariant(service, steps):
    loop, svc = service
    for path, division, body in steps:
        before = loop.run(svc.state())
        status = loop.run(svc.call(path, division, body))
        after = loop.run(svc.state())
        assert status in (201, 403, 409, 422), (path, body, status)
        total, negative, postings, events = after
        assert total == 0 and negative == 0
        assert postings == events  # every posting has its event, and only postings are ledger events
        if status != 201:
            assert after == before  # a refusal writes nothing
        else:
            assert postings == before[2] + 1

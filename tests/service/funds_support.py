"""Driving the funds service in tests: money down the levels, projects in its read model, checks
of the ledger's invariants straight from its database."""

from __future__ import annotations

from tests.conftest import bearer, fetch

CENTRAL, XINJIANG, BOZHOU, JINGHE = "000000000000", "650000000000", "652700000000", "652722000000"
ROLES = {CENTRAL: "central_finance", XINJIANG: "province_finance", BOZHOU: "city_finance", JINGHE: "county_finance"}


class Funds:
    def __init__(self, settings, client, databases=None, clock=None):
        self.settings, self.client, self.n, self.clock = settings, client, 0, clock
        self.databases, self.sources = databases, {}
        self.known_households: set[str] = set()

    @property
    def projects(self):
        """The projects service's database, once an event was written to its log."""
        return self.sources.get("projects")

    @projects.setter
    def projects(self, settings):
        self.sources["projects"] = settings

    async def project_event(self, event_type: str, **data):
        """An event in the projects service's own log, delivered to the funds consumer (its handlers)."""
        await self.event("projects", event_type, data["code"], {"division": JINGHE, **data})

    async def event(self, source: str, event_type: str, subject: str, data: dict):
        """An event in another service's own log (``source``), delivered to the funds consumer."""
        from services.funds.handlers import CONSUMES
        from shared.db import make_engine, make_sessionmaker
        from shared.events import NewEvent, append
        from shared.events.consumer import Consumer

        if source not in self.sources:
            self.sources[source] = await self.databases.new(source)
        actor = {"sub": "县扶贫办", "roles": ["county_office"], "division": JINGHE}
        engine = make_engine(self.sources[source].sqlalchemy_url, pool_size=1)
        sink = make_engine(self.settings.sqlalchemy_url, pool_size=2)
        try:
            async with make_sessionmaker(engine, source, self.clock)() as session, session.begin():
                [event] = await append(session, [NewEvent(event_type, subject, data, actor)])
            consumer = Consumer(self.settings, make_sessionmaker(sink, "funds", self.clock), CONSUMES)
            await consumer.load_positions()
            await consumer.apply(event)
            await consumer.http.aclose()
        finally:
            await engine.dispose()
            await sink.dispose()

    async def registered(self, *household_ids: str, status: str = "registered", division: str = "652722101201"):
        """Households in the registry's log (one import of them, in ``status``), delivered to the
        funds consumer: the payees it may pay (or not)."""
        from services.registry.contract import HOUSEHOLDS_IMPORTED

        if household_ids:
            await self.event("registry", HOUSEHOLDS_IMPORTED, str(household_ids[0]), {
                "household_fields": ["id", "division", "status", "members"], "member_fields": [],
                "households": [[h, division, status, []] for h in household_ids]})
        self.known_households |= set(household_ids)

    async def in_library(self, *codes):
        for code in codes:
            await self.project_event("projects.project.entered_library", code=code, publicity_passed=True)

    def headers(self, division, role=None):
        self.n += 1
        return {**bearer(self.settings, role or ROLES[division], division), "Idempotency-Key": f"f-{self.n}"}

    async def post(self, path, division, role=None, **body):
        money = {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", **body}
        return await self.client.post(path, json=money, headers=self.headers(division, role))

    async def db(self, sql):
        return await fetch(self.settings, sql)

    async def zero_sum_and_no_negative(self):
        [row] = await self.db("SELECT sum(balance_fen) AS total, "
                              "count(*) FILTER (WHERE kind NOT IN ('appropriation','disbursed') AND balance_fen < 0) AS negative "
                              "FROM accounts")
        assert (row["total"] or 0) == 0 and row["negative"] == 0


async def down_to_jinghe(f: Funds, amount="1000000.00"):
    assert (await f.post("/appropriations", CENTRAL, amount=amount, document_no="财农〔2017〕8号")).status_code == 201
    for source, target, doc in ((CENTRAL, XINJIANG, "财农〔2017〕10号"), (XINJIANG, BOZHOU, "新财农〔2017〕21号"),
                                (BOZHOU, JINGHE, "博州财农〔2017〕5号")):
        response = await f.post("/allocations", source, amount=amount, to_division=target, document_no=doc)
        assert response.status_code == 201, response.text
        await f.zero_sum_and_no_negative()


async def committed_project(f: Funds, amount: str, *, down: str | None = None, project: str = "P-1"):
    """Money down to 精河县 (``down``, default ``amount``), ``project`` in the library and ``amount``
    committed to it from the county's available funds: the commitment's response (201, asserted)."""
    await down_to_jinghe(f, down or amount)
    await f.in_library(project)
    response = await f.post("/commitments", JINGHE, amount=amount, project_code=project, source="available")
    assert response.status_code == 201, response.text
    return response


async def account(conn, division, kind, reference=""):
    """An account opened straight in the funds database (balance 0); its id."""
    return await conn.fetchval(
        "INSERT INTO accounts (division, role, channel, fiscal_year, kind, reference) "
        "VALUES ($1, 'finance', 'central_special', 2017, $2, $3) RETURNING id", division, kind, reference)

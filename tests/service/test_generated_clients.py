"""A client generated from each service's OpenAPI document (openapi-python-client) writes and
reads against the running service: the document is complete enough for a client nobody wrote
by hand — the Idempotency-Key header, the bodies, the answers and the problem+json refusals."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import typing
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from services.audit.app import create_app as audit_app
from services.funds.app import create_app as funds_app
from services.projects.app import create_app as projects_app
from services.registry.app import create_app as registry_app
from shared.clock import SettableClock
from tests.conftest import bearer, serving

FACTORIES = {"registry": registry_app, "funds": funds_app, "projects": projects_app, "audit": audit_app}
VILLAGE = "652722102201"
CENTRAL = "000000000000"


def generate(spec: dict, folder: Path, service: str):
    """Generate ``<service>_client`` from ``spec`` into ``folder`` and import it."""
    (folder / "openapi.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (folder / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {service}_client\n")
    run = subprocess.run(
        [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", "openapi.json",
         "--output-path", str(folder / f"{service}_client"), "--meta", "none", "--config", "config.yaml"],
        cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(f"{service}_client")
    finally:
        sys.path.remove(str(folder))


def connect(package, app, headers: dict[str, str]):
    client = package.AuthenticatedClient(base_url="http://testserver", token=headers["Authorization"][7:])
    client.set_async_httpx_client(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                    base_url="http://testserver", headers=headers))
    return client


def body_model(operation):
    """The generated model of an operation's JSON body (as the generator named it)."""
    return typing.get_type_hints(operation.asyncio_detailed)["body"]


def announcement_draft(create):
    return body_model(create).from_dict({
        "subject_type": "household_list", "subject_id": f"{VILLAGE}-2017-identification",
        "level": "village", "division": VILLAGE, "title": "2017年贫困户识别公示",
        "content": {"body": "经民主评议，拟识别以下农户为贫困户。\n\n如有异议请反映。",
                    "table": {"columns": ["户主", "人口"], "rows": [["王某", "4"]]}},
        "hotline_local": "0909-5322222",
    })


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_a_generated_client_writes_with_an_idempotency_key_and_reads_it_back(service, databases, tmp_path):
    settings = await databases.new(service)
    app = FACTORIES[service](settings, clock=SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc)),
                             run_background=False)
    package = generate(app.openapi(), tmp_path, service)
    create = importlib.import_module(f"{service}_client.api.announcements_officials.create_announcement")
    read = importlib.import_module(f"{service}_client.api.announcements_officials.read_announcement")
    models = importlib.import_module(f"{service}_client.models")
    async with serving(app):
        client = connect(package, app, bearer(settings, "village", VILLAGE))
        async with client as client:
            written = await create.asyncio_detailed(client=client, body=announcement_draft(create),
                                                    idempotency_key="gen-1")
            assert written.status_code == 201, written.content
            again = await create.asyncio_detailed(client=client, body=announcement_draft(create),
                                                  idempotency_key="gen-1")
            assert again.headers.get("Idempotent-Replayed") == "true"
            assert again.parsed.to_dict() == written.parsed.to_dict()
            announcement_id = written.parsed.to_dict()["id"]
            got = await read.asyncio_detailed(client=client, announcement_id=announcement_id)
            assert got.status_code == 200 and got.parsed.to_dict()["title"] == "2017年贫困户识别公示"
            missing = await read.asyncio_detailed(client=client, announcement_id="00000000-0000-0000-0000-000000000000")
            assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
            refused = await create.asyncio_detailed(client=client, body=body_model(create).from_dict(
                {**announcement_draft(create).to_dict(), "division": "652722102299"}), idempotency_key="gen-2")
            assert refused.status_code == 403 and isinstance(refused.parsed, models.Problem)


async def test_the_funds_client_books_money_and_reads_the_balance(databases, tmp_path):
    settings = await databases.new("funds")
    app = funds_app(settings, clock=SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc)), run_background=False)
    package = generate(app.openapi(), tmp_path, "funds")
    ledger = "funds_client.api.ledger_operations_资金下达_整合_拨付"
    appropriate = importlib.import_module(f"{ledger}.create_appropriation")
    balances = importlib.import_module("funds_client.api.reports.list_balances")
    async with serving(app):
        async with connect(package, app, bearer(settings, "central_finance", CENTRAL)) as client:
            body = body_model(appropriate).from_dict({"channel": "central_special", "fiscal_year": 2017, "amount": "1000000.00",
                                           "document_no": "财农〔2017〕8号", "document_date": "2017-03-01"})
            booked = await appropriate.asyncio_detailed(client=client, body=body, idempotency_key="approp-1")
            assert booked.status_code == 201, booked.content
            read = await balances.asyncio_detailed(client=client, division=CENTRAL)
            assert read.status_code == 200, read.content
            assert type(read.parsed).__name__ == "BalancesOut"  # a model of the document, not "any object"
            [available] = [a for a in read.parsed.items if a.kind == "available"]
            assert (available.channel, available.channel_label, available.balance) == (
                "central_special", "中央财政专项扶贫资金", "1000000.00")

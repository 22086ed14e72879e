"""Every JSON answer cites documents a person can look up, never the project's internal files
(shared/web/citations.py), on any route — except the log's own bytes, which are hashed and signed;
a spreadsheet's text cells the same (shared/web/export.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from shared.policy.citations import SEED_TITLES
from shared.web.citations import PublicCitations
from shared.web.export import Column

RAW = {"rule": {"id": "funds.stranded.return", "citation": "seed 004 L27; DOMAIN.md §4"}, "amount": "1.00",
       "notes": ["按 seed 003 L193 执行", 7, None]}


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/reports/stranded")
    async def report():
        return RAW

    @app.get("/events")
    async def feed():
        return RAW

    @app.get("/postings/{posting_id}/receipt")
    async def receipt(posting_id: str):
        return RAW

    @app.get("/stream")
    async def stream():
        return StreamingResponse(iter([json.dumps(RAW).encode(), b""]), media_type="application/json")

    @app.get("/plain")
    async def plain():
        return JSONResponse(RAW, media_type="text/plain")

    app.add_middleware(PublicCitations)
    return app


async def _get(path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        return await client.get(path)


async def test_a_json_answer_names_the_document_and_drops_handbook_references():
    answer = await _get("/reports/stranded")
    assert answer.status_code == 200 and int(answer.headers["content-length"]) == len(answer.content)
    body = answer.json()
    assert body["rule"]["citation"] == SEED_TITLES["004"]
    assert body["notes"] == [f"按 {SEED_TITLES['003']} 执行", 7, None]
    assert body["amount"] == "1.00" and body["rule"]["id"] == "funds.stranded.return"
    assert "seed" not in answer.text and "DOMAIN" not in answer.text


@pytest.mark.parametrize("path", ["/events", "/postings/P-1/receipt"])
async def test_the_logs_own_answers_stay_byte_for_byte(path):
    answer = await _get(path)
    assert answer.json() == RAW  # hashed and signed: a rewritten citation would break the proof


@pytest.mark.parametrize("path", ["/stream", "/plain"])
async def test_a_streamed_or_non_json_answer_passes_unchanged(path):
    assert (await _get(path)).json() == RAW


def test_a_spreadsheet_cell_cites_as_the_json_does():
    column = Column("rule.citation", "依据")
    assert column.value(RAW) == SEED_TITLES["004"]
    assert Column("amount", "金额", "yuan").value(RAW) == "1.00"


async def test_a_citation_that_was_only_a_handbook_reference_reads_as_the_systems_default():
    from shared.policy.citations import SYSTEM_DEFAULT
    from shared.web.citations import public_string

    assert public_string("DOMAIN.md §3") == SYSTEM_DEFAULT
    assert public_string("") == "" and public_string("国开办发〔2017〕50号; DOMAIN.md §6") == "国开办发〔2017〕50号"

"""Liveness, readiness (database and broker) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Literal

from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from shared.events.topics import shape_problem
from shared.web.problems import RETRY_AFTER_SECONDS
from shared.witness.api import alarm_summary

router = APIRouter(tags=["operations"])


async def broker_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return True
    except Exception:
        return False
    finally:
        await client.close()


class LivenessOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ok"]
    service: str


class ReadinessOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ready", "degraded", "not ready"]
    service: str
    checks: dict[str, str] = Field(description="database, broker, topic — `ok` or what is wrong; `log` and "
                                   "`witness` when a log is cut or rewritten")


@router.get("/healthz", summary="Liveness: the process answers", responses={200: {"model": LivenessOut}})
async def healthz(request: Request) -> dict:
    """Liveness: 200 while the process answers."""
    return {"status": "ok", "service": request.app.state.settings.service}


@router.get(
    "/readyz",
    summary="Readiness: the database answers, the broker is reachable, the log is whole",
    responses={200: {"model": ReadinessOut}, 503: {
        "model": ReadinessOut, "description": "a dependency is down, or the log is truncated or no longer extends its "
                                    "Merkle tree (`checks.log` names the missing seqs), or this service's witness "
                                    "holds an alarm about another log (`checks.witness`)"}},
)
async def readyz(request: Request, response: Response) -> dict:
    """Readiness: the database answers and the broker is reachable; 503 listing what is down otherwise."""
    settings = request.app.state.settings
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means not ready
        checks["database"] = f"down: {type(exc).__name__}"
    if settings.kafka_bootstrap:
        checks["broker"] = "ok" if await broker_reachable(settings.kafka_bootstrap) else "down"
        if checks["broker"] == "ok":
            checks["topic"] = await _topic_check(settings)
    else:
        checks["broker"] = "not configured"
    ready = all(v in ("ok", "not configured") for v in checks.values())
    alarms = request.app.state.log_guard.alarms()  # shared/events/tail.py: a cut or rewritten log
    if alarms:
        checks["log"] = "; ".join(alarms)
    if checks["database"] == "ok" and (witnessed := await alarm_summary(request.app.state.engine)):
        checks["witness"] = witnessed  # shared/witness: another service's log contradicted itself
        alarms.append(witnessed)
    if not ready or alarms:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    status = "not ready" if not ready else "degraded" if alarms else "ready"
    return {"status": status, "service": settings.service, "checks": checks}


async def _topic_check(settings) -> str:
    """The service's own topic has the configured partition count (or is not created yet)."""
    try:
        problem = await asyncio.wait_for(
            shape_problem(settings.kafka_bootstrap, settings.topic, settings.topic_partitions), 5)
    except Exception as exc:  # noqa: BLE001 — an unreadable topic is not ready either
        return f"unknown: {type(exc).__name__}"
    return "ok" if problem is None else f"wrong shape: {problem}"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}})
async def metrics() -> Response:
    """Prometheus metrics: request latency, events appended, relay and consumer lag."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

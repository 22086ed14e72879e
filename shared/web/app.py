"""The app factory every service uses."""

from __future__ import annotations

import gc
import re
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable, Iterable, Mapping

import structlog
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from shared import context
from shared import logging as fupin_logging
from shared.auth import TokenVerifier
from shared.clock import Clock, clock_from_env
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker, prepare_database
from shared.events import feed, proofs
from shared.events.checkpoints import CheckpointPublisher, Checkpointer, log_signer
from shared.events.consumer import Consumer, Handler
from shared.events.relay import Relay
from shared.events.tail import LogGuard
from shared.events.worker import Worker
from shared.metrics import REQUEST_LATENCY
from shared.policy import load_policy
from shared.web import devclock, health, openapi, problems, route_index
from shared.web.boundary import InputBoundary
from shared.web.citations import PublicCitations
from shared.web.client import ClientAddress, trusted_networks
from shared.web.idempotency import IdempotentRoute
from shared.witness import api as witness_api
from shared.witness.witness import Witness

log = fupin_logging.get_logger("fupin.http")
_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

Hook = Callable[[FastAPI], Awaitable[None]]


def router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose write routes follow the Idempotency-Key contract and own their transaction."""
    return APIRouter(route_class=IdempotentRoute, **kwargs)


class RequestContext:
    """Pure ASGI middleware: correlation id, an access log line and the latency histogram."""

    def __init__(self, app, service: str):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(b"x-correlation-id", b"").decode("latin-1")
        correlation = incoming if _CORRELATION_OK.match(incoming) else str(uuid.uuid4())
        token = context.correlation_id.set(correlation)
        structlog.contextvars.bind_contextvars(correlation_id=correlation)
        started = time.perf_counter()
        status = 500

        async def send_with_header(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-correlation-id", correlation.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(self.service, scope["method"], template, str(status)).observe(elapsed)
            if template not in ("/healthz", "/metrics"):
                principal = getattr(scope.get("state", {}).get("principal"), "sub", None)
                # the machinery's routine reads (readiness probes, a peer service polling the feed)
                # are DEBUG when they succeed: an idle system logs nothing
                routine = status < 400 and scope["method"] == "GET" and (
                    template == "/readyz" or str(principal or "").startswith("service:"))
                (log.debug if routine else log.info)("request", method=scope["method"], path=scope["path"],
                                                     status=status, ms=round(elapsed * 1000, 2), sub=principal)
            structlog.contextvars.unbind_contextvars("correlation_id")
            context.correlation_id.reset(token)


def create_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter] = (),
    consumes: Mapping[str, Mapping[str, Handler]] | None = None,
    clock: Clock | None = None,
    on_startup: Iterable[Hook] = (),
    workers: Iterable[Callable[[FastAPI], Any]] = (),
    run_background: bool = True,
) -> FastAPI:
    """Build a service: problem+json errors, auth, idempotent writes, health, metrics, event
    feed, and — when a broker is configured and ``run_background`` — its relay and consumer.

    ``routers`` are the service's own (and what it mounts of shared packages, e.g. the
    announcements' ``shared.announcements.routes.ROUTERS``); ``consumes`` maps a source service to
    {event type: handler}; ``workers`` are factories of the service's background workers
    (schedulers, e.g. ``shared.announcements.routes.WORKERS``), called once the database is set up.
    The web layer imports no feature package, so those packages may build on it.
    """
    fupin_logging.configure(settings.log_level, settings.log_as_json, settings.service)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.migrate_on_start:
            await prepare_database(settings)
        app.state.engine = make_engine(settings.sqlalchemy_url)
        app.state.sessionmaker = make_sessionmaker(app.state.engine, settings.service, app.state.clock)
        background: list[Worker] = []
        if run_background:
            background.extend(factory(app) for factory in workers)
            background.append(Checkpointer(settings, app.state.log_signer, app.state.log_guard))
        if settings.kafka_bootstrap and run_background:
            background.append(Relay(settings))
            background.append(CheckpointPublisher(settings, app.state.log_guard))
            background.append(Witness(settings, app.state.sessionmaker, signer=app.state.log_signer))
            if consumes:
                background.append(Consumer(settings, app.state.sessionmaker, consumes))
        for hook in on_startup:
            await hook(app)
        for worker in background:
            worker.start()
        app.state.background = background
        # what start-up built (routes, schemas, the policy table, SQLAlchemy's caches, ~170k objects)
        # lives as long as the process: frozen out of the collector's generations, a collection no
        # longer walks it — the collector's share of a request's CPU fell from ~16% to ~7%
        # (bench/RESULTS.md, issue 13); thawed at shutdown so that an app torn down (tests) is freed
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            for worker in background:
                await worker.stop()
            await app.state.engine.dispose()

    # /docs (Swagger UI) and /redoc load their scripts from the installed package, never a CDN:
    # county intranets have no internet
    app = FastAPIOffline(title=title, description=description, version="0.1.0", lifespan=lifespan,
                         generate_unique_id_function=openapi.operation_id)
    openapi.install(app)
    app.state.settings = settings
    app.state.clock = clock or clock_from_env(settings.clock)
    app.state.token_verifier = TokenVerifier(settings)
    app.state.policy = load_policy(settings.policy_files)  # a malformed override fails at start-up
    app.state.log_signer = log_signer(settings)  # production without its log key fails here
    app.state.log_guard = LogGuard(settings.service)
    problems.install(app)
    # outermost last: the client address first, then the request context, then the input boundary
    app.add_middleware(InputBoundary, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes, max_json_depth=settings.max_json_depth)
    app.add_middleware(PublicCitations)  # every JSON answer cites documents, not internal files
    app.add_middleware(RequestContext, service=settings.service)
    app.add_middleware(ClientAddress, trusted=trusted_networks(settings.forwarded_allow_ips))
    app.include_router(health.router)
    app.include_router(feed.router)
    app.include_router(proofs.router)
    app.include_router(witness_api.witness)
    app.include_router(devclock.router)
    for extra in routers:
        app.include_router(extra)
    route_index.install(app)
    return app

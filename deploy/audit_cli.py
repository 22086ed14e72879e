"""``fupin audit``: export the event logs, verify them, rebuild and diff, check compliance, score, report.

Every command but ``export`` reads the logs from one source: the services' ``/events`` feeds
(default), ``--export DIR`` (a directory written by ``fupin audit export``) or ``--kafka`` (the
topics, from the beginning); all three give the same result. The feeds and the live figures are
read with ``--token`` (or ``FUPIN_AUDIT_TOKEN``), else a development auditor token of the national
level. Machine-readable output goes to stdout (JSON), a one-line summary to stderr.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import httpx
import typer

from shared.config import SERVICES

audit_app = typer.Typer(help="Audit (审计): export, verify, rebuild and diff, compliance, reports.", no_args_is_help=True)

DATA_DIR = typer.Option(Path(".data"), "--data-dir", help="where `fupin dev up` keeps its runtime settings")
EXPORT = typer.Option(None, "--export", exists=True, file_okay=False, help="read an export directory instead of the feeds")
KAFKA = typer.Option(False, "--kafka", help="read the Kafka topics from the beginning instead of the feeds")
TOKEN = typer.Option(None, "--token", envvar="FUPIN_AUDIT_TOKEN", help="bearer token (default: a development auditor token)")
DIVISION = typer.Option("000000000000", "--division", help="jurisdiction of the findings and the diff, e.g. 652722")
AS_OF = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: today)")
CHECKPOINT = typer.Option(None, "--checkpoint", exists=True, dir_okay=False,
                          help="a signed checkpoint saved earlier (C2SP note, e.g. from GET /checkpoints/latest?format=note "
                          "or GET /witness/checkpoint): each log must still match it; repeat")
KEY = typer.Option(None, "--key", help="a published log key (name+id+base64) to verify the checkpoints with; repeat. "
                   "Default: the keys each service serves at /.well-known/fupin-keys")


class Context:
    def __init__(self, data_dir: Path, token: str | None):
        from deploy.runner import load_runtime_env
        from shared.auth import issue_token
        from shared.config import settings_for
        from shared.divisions import NATIONAL

        load_runtime_env(data_dir)
        self.settings = settings_for("audit")
        self.token = token or issue_token(self.settings, sub="cli:auditor", roles=["auditor"], division=NATIONAL)

    async def clients(self, stack: AsyncExitStack) -> dict[str, httpx.AsyncClient]:
        return {service: await stack.enter_async_context(
            httpx.AsyncClient(base_url=self.settings.peer_url(service), timeout=300)) for service in SERVICES}

    async def source(self, stack: AsyncExitStack, export: Path | None, kafka: bool):
        from services.audit.sources import ExportSource, FeedSource, KafkaSource

        if export is not None:
            return ExportSource(export)
        if kafka:
            if not self.settings.kafka_bootstrap:
                raise typer.BadParameter("no broker configured (FUPIN_KAFKA_BOOTSTRAP or `fupin dev up`)")
            return await KafkaSource(self.settings.kafka_bootstrap, list(SERVICES), self.settings.topic_prefix).load()
        return await FeedSource(await self.clients(stack), self.token).load()


def _as_of(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else date.today()
    except ValueError:
        raise typer.BadParameter(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


def _emit(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str))


async def _audit(ctx: Context, stack: AsyncExitStack, *, export, kafka, as_of: date, division: str, compare: bool,
                 outside=None):
    from services.audit.diff import Live
    from services.audit.run import run_audit
    from shared.policy import load_policy

    source = await ctx.source(stack, export, kafka)
    live = Live(await ctx.clients(stack), ctx.token) if compare else None
    return await run_audit(source, as_of=as_of, division=division, policy=load_policy(ctx.settings.policy_files),
                           live=live, parallel=export is not None, outside=outside)


async def _outside(ctx: Context, stack: AsyncExitStack, files: list[Path], keys: list[str]):
    """The saved checkpoints, opened with the given keys or those the services publish."""
    from services.audit.checkpoints import Outside
    from shared.events.note import NoteError, Verifier

    try:
        verifiers = [Verifier.from_key_string(k) for k in keys]
    except NoteError as exc:
        raise typer.BadParameter(f"--key: {exc}") from None
    if not verifiers:
        for client in (await ctx.clients(stack)).values():
            response = await client.get("/.well-known/fupin-keys")
            response.raise_for_status()
            verifiers += [Verifier.from_key_string(k) for k in response.json()["log"]]
    service_of = {v.name: v.name.rpartition("/")[2] for v in verifiers if v.name.rpartition("/")[2] in SERVICES}
    notes = [(str(path), path.read_text(encoding="utf-8", errors="replace")) for path in files]
    return Outside.of(notes, verifiers, service_of)


def _run(coroutine_factory) -> Any:
    async def main():
        async with AsyncExitStack() as stack:
            return await coroutine_factory(stack)

    try:
        return asyncio.run(main())
    except httpx.HTTPError as exc:
        typer.echo(f"audit: a service did not answer: {exc!r}", err=True)
        raise typer.Exit(2) from None


@audit_app.command("export")
def export(out: Path = typer.Option(..., "--out", help="directory to write (created if missing)"), kafka: bool = KAFKA,
           token: Optional[str] = TOKEN, data_dir: Path = DATA_DIR) -> None:
    """Write every service's log as JSONL (one canonical event per line) plus manifest.json."""
    from services.audit.export import write_export

    ctx = Context(data_dir, token)

    async def work(stack):
        loaded = await ctx.source(stack, None, kafka)
        return write_export(out, loaded.events, source=loaded.description,
                            created_at=datetime.now().astimezone().isoformat(timespec="seconds"))

    manifest = _run(work)
    _emit(manifest)
    total = sum(entry["events"] for entry in manifest["services"].values())
    typer.echo(f"audit export: {total} events of {len(manifest['services'])} services in {out}", err=True)


@audit_app.command("verify")
def verify(export: Optional[Path] = EXPORT, kafka: bool = KAFKA, checkpoint: Optional[list[Path]] = CHECKPOINT,
           key: Optional[list[str]] = KEY, token: Optional[str] = TOKEN, data_dir: Path = DATA_DIR) -> None:
    """Verify every chain (gapless from 1, every hash), the manifest and the causation references, and each log
    against the checkpoints given (truncated, rewritten, fork); exit 1 on a problem."""
    ctx = Context(data_dir, token)

    async def work(stack):
        outside = await _outside(ctx, stack, checkpoint, key or []) if checkpoint else None
        return await _audit(ctx, stack, export=export, kafka=kafka, as_of=date.today(), division="", compare=False,
                            outside=outside)

    result = _run(work)
    body = result.as_dict()
    _emit({"verified": result.verified, "chains": body["chains"], "reference_problems": body["reference_problems"],
           "checkpoint_problems": body["checkpoint_problems"]})
    if not result.verified:
        shown = ([p for chain in result.chains for p in chain.problems[:20]] + result.reference_problems[:20]
                 + result.checkpoint_problems[:20])
        for problem in shown:
            typer.echo(f"{problem.service or 'checkpoint'}: {problem.kind} at seq {problem.seq}: {problem.detail}",
                       err=True)  # no service: a checkpoint of no audited log
        raise typer.Exit(1)
    against = f" against {len(checkpoint)} checkpoints" if checkpoint else ""
    typer.echo(f"audit verify: {body['summary']['events']} events verified{against}", err=True)


@audit_app.command("rebuild")
def rebuild(export: Optional[Path] = EXPORT, kafka: bool = KAFKA, as_of: Optional[str] = AS_OF,
            division: str = DIVISION, token: Optional[str] = TOKEN, data_dir: Path = DATA_DIR) -> None:
    """Rebuild the figures from the events alone (ledger balances, households, statistics, projects) and print them."""
    ctx = Context(data_dir, token)
    result = _run(lambda stack: _audit(ctx, stack, export=export, kafka=kafka, as_of=_as_of(as_of),
                                       division=division, compare=False))
    _emit({"as_of": result.as_of.isoformat(), "division": result.division, "rebuilt": result.rebuilt,
           "figures": result.figures, "discrepancies": [d.as_dict() for d in result.discrepancies]})


@audit_app.command("diff")
def diff(export: Optional[Path] = EXPORT, kafka: bool = KAFKA, division: str = DIVISION,
         token: Optional[str] = TOKEN, data_dir: Path = DATA_DIR) -> None:
    """Compare the rebuilt figures with what the live services report; exit 1 listing every discrepancy."""
    ctx = Context(data_dir, token)
    result = _run(lambda stack: _audit(ctx, stack, export=export, kafka=kafka, as_of=date.today(), division=division,
                                       compare=True))
    _emit({"division": result.division, "verified": result.verified,
           "discrepancies": [d.as_dict() for d in result.discrepancies]})
    if result.discrepancies:
        typer.echo(f"audit diff: {len(result.discrepancies)} discrepancies", err=True)
        raise typer.Exit(1)
    typer.echo("audit diff: the rebuilt figures match the live services", err=True)


@audit_app.command("compliance")
def compliance(as_of: Optional[str] = AS_OF, division: str = DIVISION, export: Optional[Path] = EXPORT,
               kafka: bool = KAFKA, token: Optional[str] = TOKEN, data_dir: Path = DATA_DIR) -> None:
    """Check compliance as of a date with the policy in force then; every finding cites its rule id."""
    from services.audit.report import masked

    ctx = Context(data_dir, token)
    result = _run(lambda stack: _audit(ctx, stack, export=export, kafka=kafka, as_of=_as_of(as_of),
                                       division=division, compare=False))
    body = masked(result.as_dict())
    _emit({"as_of": body["as_of"], "division": body["division"], "by_rule": body["summary"]["findings_by_rule"],
           "findings": body["findings"]})
    typer.echo(f"audit compliance: {len(result.findings)} findings as of {result.as_of}", err=True)


@audit_app.command("scores")
def scores(year: int = typer.Option(..., "--year", help="the year whose records are scored, e.g. 2017"),
           division: str = typer.Option(..., "--division", help="the division scored, e.g. 652722000000"),
           export: Optional[Path] = EXPORT, kafka: bool = KAFKA, token: Optional[str] = TOKEN,
           data_dir: Path = DATA_DIR) -> None:
    """A division's performance score for a year (rule division.performance.score), from events alone."""
    from services.audit.scores import score_report, scores_from
    from shared.policy import load_policy

    ctx = Context(data_dir, token)
    policy = load_policy(ctx.settings.policy_files)

    async def work(stack):
        source = await ctx.source(stack, export, kafka)
        return await asyncio.to_thread(scores_from, source, [division], year, policy)

    found, _ = _run(work)
    _emit(score_report(found, policy, year))
    typer.echo(f"audit scores: {division} {year}: {found[division].as_dict()['score']}", err=True)


@audit_app.command("report")
def report(as_of: Optional[str] = AS_OF, division: str = DIVISION,
           out: Path = typer.Option(Path("audit-report"), "--out", help="directory for the JSON, CSV and HTML files"),
           compare: bool = typer.Option(True, "--compare/--no-compare", help="diff with the live services"),
           export: Optional[Path] = EXPORT, kafka: bool = KAFKA, token: Optional[str] = TOKEN,
           data_dir: Path = DATA_DIR) -> None:
    """Write the audit report (JSON, CSV and a self-contained HTML page) as of a date for a division."""
    from services.audit.report import write_report

    ctx = Context(data_dir, token)
    result = _run(lambda stack: _audit(ctx, stack, export=export, kafka=kafka, as_of=_as_of(as_of),
                                       division=division, compare=compare))
    stem = f"audit-{result.division or 'national'}-{result.as_of.isoformat()}"
    paths = write_report(result.as_dict(), out, stem)
    _emit({kind: str(path) for kind, path in paths.items()})
    typer.echo(f"audit report: verified={result.verified}, {len(result.discrepancies)} discrepancies, "
               f"{len(result.findings)} findings → {paths['html']}", err=True)


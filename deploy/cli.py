"""The ``fupin`` command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Optional

import asyncpg
import typer

from shared.config import SERVICES, libpq_url, settings_for

app = typer.Typer(help="Fupin: 精准扶贫 administration backend — development and operations commands.",
                  no_args_is_help=True)
token_app = typer.Typer(help="Development tokens.", no_args_is_help=True)
dev_app = typer.Typer(help="Run the system locally.", no_args_is_help=True)
db_app = typer.Typer(help="Databases.", no_args_is_help=True)
events_app = typer.Typer(help="Event logs.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(dev_app, name="dev")
app.add_typer(db_app, name="db")
app.add_typer(events_app, name="events")
registry_app = typer.Typer(help="Registry (建档立卡).", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
from deploy.audit_cli import audit_app; app.add_typer(audit_app, name="audit")  # noqa: E402,E702 — issue 7's one line
from deploy.receipt_cli import verify_receipt; app.command("verify-receipt")(verify_receipt)  # noqa: E402,E702

DATA_DIR = typer.Option(Path(".data"), "--data-dir", help="where embedded PostgreSQL keeps its data")


def _service(value: str) -> str:
    if value not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    return value


def _settings(service: str, data_dir: Path):
    from deploy.runner import load_runtime_env

    load_runtime_env(data_dir)
    return settings_for(service)


@token_app.command("issue")
def token_issue(
    role: str = typer.Option(..., help="village, township, county_office, county_finance, city_office, "
                             "city_finance, province_office, province_finance, central_finance, "
                             "department, auditor, admin, service"),
    division: str = typer.Option(..., help="division code of the holder, e.g. 652722 (精河县)"),
    sub: Optional[str] = typer.Option(None, help="subject (user name); default dev-<role>-<division>[-<dept>]"),
    dept: Optional[str] = typer.Option(None, help="department of a department token, e.g. civil_affairs"),
    ttl: int = typer.Option(12 * 3600, help="lifetime in seconds"),
) -> None:
    """Print a development token signed with FUPIN_JWT_SECRET."""
    from shared.auth import dev_subject, issue_token

    try:
        token = issue_token(settings_for("registry"), sub=sub or dev_subject(role, division, dept), roles=[role],
                            division=division, dept=dept, ttl_seconds=ttl)
    except (ValueError, RuntimeError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(token)


@dev_app.command("up")
def dev_up(
    demo: bool = typer.Option(False, "--demo", help="load the demo data (精河县) through the APIs"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Start PostgreSQL and the broker (embedded unless configured), migrate, run all four services."""
    from deploy.runner import up

    raise typer.Exit(up(data_dir, demo))


@dev_app.command("status")
def dev_status(data_dir: Path = DATA_DIR) -> None:
    """Print again what `fupin dev up` printed when it was ready (URLs, development tokens), and
    whether each service answers now; exit 1 when nothing runs."""
    from deploy.runner import status

    running, text = status(data_dir.resolve())
    typer.echo(text, err=not running)
    if not running:
        raise typer.Exit(1)


@db_app.command("migrate")
def db_migrate(
    service: Optional[str] = typer.Option(None, callback=lambda v: v and _service(v), help="one service (default all)"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Create each service's database if missing and run its Alembic migrations."""
    from shared.db import prepare_database

    async def run() -> None:
        for name in [service] if service else SERVICES:
            settings = _settings(name, data_dir)
            await prepare_database(settings)
            typer.echo(f"{name}: {settings.database_name} migrated")

    asyncio.run(run())


@events_app.command("verify")
def events_verify(
    service: str = typer.Option(..., callback=_service, help="registry, funds, projects or audit"),
    from_seq: int = typer.Option(1, min=1),
    to_seq: Optional[int] = typer.Option(None, min=1),
    data_dir: Path = DATA_DIR,
) -> None:
    """Re-compute a service's hash chain from its database; exit 1 naming the first bad seq."""
    from shared.events import store

    settings = _settings(service, data_dir)

    async def run():
        conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            return await store.verify(conn, from_seq, to_seq)
        finally:
            await conn.close()

    report = asyncio.run(run())
    typer.echo(json.dumps({"service": service, **report.as_dict()}, ensure_ascii=False, indent=2))
    if not report.ok:
        typer.echo(f"{service}: chain broken at seq {report.first_bad_seq}: {report.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{service}: {report.checked} events verified, last seq {report.last_seq}", err=True)


@registry_app.command("import")
def registry_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".xlsx or .csv, one row per person (建档立卡 layout)"),
    division: str = typer.Option("000000000000", help="jurisdiction: every village must be under this division code"),
    sub: Optional[str] = typer.Option(None, help="who imports (the events' actor); default cli:<user>"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Import households and persons; all or nothing: exit 1 listing the bad rows (first 50 + total)."""
    from deploy.registry_import import cli_import

    raise typer.Exit(cli_import(_settings("registry", data_dir), file, division=division, sub=sub))

if __name__ == "__main__":
    app()

"""``fupin registry import``: a registry bulk import from the command line, with a progress bar
(the use case is ``services.registry.usecases.imports.run_import``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from services.registry.usecases.imports import ImportResult, Progress, run_import
from shared import divisions
from shared.errors import Unprocessable

_PHASES = {"parse": "解析与校验 parse + validate", "check": "数据库核对 check database", "write": "写入 write"}


def cli_import(settings, path: Path, *, division: str, sub: str | None, show_errors: int = 50) -> int:
    """Import ``path`` with a progress bar; print the result or the bad rows. Returns the exit code."""
    import getpass
    import json
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

    from shared.clock import clock_from_env
    from shared.db import make_engine, make_sessionmaker

    console = Console(stderr=True, highlight=False)
    try:
        jurisdiction = divisions.normalize(division)
    except divisions.DivisionError as exc:
        print(f"--division: {exc}", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    actor = {"sub": sub or f"cli:{getpass.getuser()}", "roles": ["admin"], "division": jurisdiction}
    clock = clock_from_env(settings.clock)

    async def run(report: Progress) -> ImportResult:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            async with make_sessionmaker(engine, "registry", clock)() as session:
                async with session.begin():
                    return await run_import(session, path, filename=path.name, actor=actor,
                                            jurisdiction=jurisdiction, clock=clock, progress=report)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    with Bar(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             console=console) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                for other in tasks.values():  # an earlier phase is over
                    task = bar.tasks[other]
                    bar.update(other, completed=task.total if task.total is not None else task.completed)
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = asyncio.run(run(report))
        except Unprocessable as problem:
            bar.stop()
            _print_refusal(problem, show_errors)
            return 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"import_id": result.import_id, "households": result.households,
                          "persons": result.persons, "events": result.events,
                          "seconds": round(elapsed, 2)}, ensure_ascii=False))
    print(f"imported {result.persons} persons in {result.households} households "
          f"({result.persons / elapsed:,.0f} persons/s)", file=sys.stderr)
    return 0


def _print_refusal(problem: Unprocessable, show_errors: int) -> None:
    """The refusal's detail and its first ``show_errors`` bad rows, then how many there are."""
    errors = problem.extensions.get("errors") or []
    total = problem.extensions.get("total_errors", len(errors))
    print(problem.detail)
    for error in errors[:show_errors]:
        extra = f" [household {error['household']}]" if error.get("household") else ""
        print(f"  row {error['row']}, {error['field']}: {error['reason']}{extra}")
    shown = min(show_errors, len(errors))
    if total > shown:
        print(f"  … {total - shown} more; {total} error(s) in total")
    else:
        print(f"  {total} error(s) in total")

"""Rebuild-and-diff: what the events imply against what the live services report through their
APIs. Every :class:`Discrepancy` names the service, the figure, the expected value (from the
events), the reported one, and the event (seq) that explains the expected value.

* funds — ``GET /balances``: every account's balance (accounts the service lists with zero and
  accounts it does not list at all both compare as 0); ``GET /deadlines``: each deadline's state,
  met date and — once it is met — days overdue, against the deadline events (``set``, ``met``,
  ``missed``, ``settled_late``);
* registry — ``GET /statistics`` for each year from the first registration to the as-of year
  (every figure, leaf by leaf) and ``GET /households`` (each household's status);
* projects — ``GET /projects``: each project's stage, funding (committed, paid, stranded, as the
  projects domain adds up the funds postings) and number of beneficiary households.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator, Mapping

import httpx

from services.audit.rebuild import Rebuilt
from services.audit.rebuild.funds import FundsRebuilt
from services.audit.rebuild.projects import ProjectsRebuilt, funding_by_project
from services.audit.rebuild.registry import RegistryRebuilt
from shared.money import format_fen, parse_yuan

FIRST_YEAR = 2014  # the registry's statistics start with 建档立卡 (its API refuses earlier years)


@dataclass(frozen=True)
class Discrepancy:
    service: str
    kind: str  # a code of DISCREPANCY_KIND (services.audit.domain.code_lists)
    subject: str
    expected: Any
    actual: Any
    seq: int | None  # the event that explains the expected value
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "kind": self.kind, "subject": self.subject, "expected": self.expected,
                "actual": self.actual, "seq": self.seq, "detail": self.detail}


class Live:
    """The services' APIs as the auditor reads them (``clients`` by service; an auditor's token)."""

    def __init__(self, clients: Mapping[str, httpx.AsyncClient], token: str):
        self.clients, self.headers = clients, {"Authorization": f"Bearer {token}"}

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self.clients[service].get(path, params=params, headers=self.headers)
        response.raise_for_status()
        return response.json()


def within_rebuild(rebuilt: Rebuilt, division: str = "") -> list[Discrepancy]:
    """What the events themselves contradict, before any comparison: postings the funds domain
    refuses on replay (the service should never have recorded them) or cannot even read, and
    events of any service whose data the rebuild cannot read."""
    out: list[Discrepancy] = []
    if rebuilt.funds is not None:
        for record, code, reason in rebuilt.funds.refused:
            if not record.posting.from_.division.startswith(division):
                continue
            out.append(Discrepancy("funds", "refused_posting", f"posting {record.posting.posting_id}", "refused",
                                   "recorded", record.seq, f"{code}: {reason}"))
        for seq, reason in rebuilt.funds.unreadable:
            out.append(Discrepancy("funds", "unreadable_posting", f"seq {seq}", "a posting", "unreadable", seq, reason))
    if rebuilt.registry is not None:
        for household, why in rebuilt.registry.refused_households():
            if household.division.startswith(division):
                out.append(Discrepancy("registry", "refused_household", f"household {household.number}",
                                       "facts the registry accepts", "refused", household.last_seq,
                                       f"{why}; left out of the statistics"))
    for service in ("funds", "registry", "projects"):
        part = getattr(rebuilt, service)
        for seq, reason in part.unreadable_events if part is not None else ():
            out.append(Discrepancy(service, "unreadable_event", f"seq {seq}", "an event of its type", "unreadable",
                                   seq, f"{reason}; the event is not in the rebuild"))
    return out


async def compare(rebuilt: Rebuilt, live: Live, *, division: str, as_of_year: int) -> list[Discrepancy]:
    """Every difference between the rebuilt figures under ``division`` and the live services'."""
    scope = division.ljust(12, "0") if division else "000000000000"
    out: list[Discrepancy] = []
    if rebuilt.funds is not None and "funds" in live.clients:
        reported = await live.get("funds", "/balances", division=scope)
        out += balance_differences(rebuilt.funds, reported["items"], division)
        reported = await live.get("funds", "/deadlines", division=scope)
        out += deadline_differences(rebuilt.funds, reported["items"], division)
    if rebuilt.registry is not None and "registry" in live.clients:
        registry = rebuilt.registry
        years = [h.registered_year for h in registry.households.values() if h.registered_year]
        for year in range(max(min(years, default=as_of_year), FIRST_YEAR), as_of_year + 1):
            reported = await live.get("registry", "/statistics", division=scope, year=year)
            out += statistic_differences(registry, reported, division, year)
        out += status_differences(registry, await _households(live, scope), division)
    if rebuilt.projects is not None and "projects" in live.clients:
        reported = await _pages(live, "projects", "/projects", division=scope)
        out += project_differences(rebuilt.projects, rebuilt.funds, reported, division)
    return out


def balance_differences(funds: FundsRebuilt, items: list[Mapping[str, Any]], division: str) -> list[Discrepancy]:
    expected = {_account(key.as_dict()): (value, funds.explained_by.get(key))
                for key, value in funds.balances.items() if key.division.startswith(division)}
    for key in funds.explained_by:  # accounts the events moved back to zero are compared too
        if key.division.startswith(division):
            expected.setdefault(_account(key.as_dict()), (0, funds.explained_by[key]))
    actual = {_account(item): parse_yuan(item["balance"]) if not item["balance"].startswith("-")
              else -parse_yuan(item["balance"][1:]) for item in items}
    out = []
    for account in sorted(set(expected) | set(actual), key=str):
        want, seq = expected.get(account, (0, None))
        got = actual.get(account, 0)
        if want != got:
            out.append(Discrepancy("funds", "balance", _label(account), format_fen(want), format_fen(got), seq,
                                   "the events imply this balance; the service reports another"))
    return out


def deadline_differences(funds: FundsRebuilt, items: list[Mapping[str, Any]], division: str) -> list[Discrepancy]:
    """State, met date and days overdue of every deadline under ``division``. Days overdue are
    compared once the deadline is met (late): before that they run with the service's clock."""
    expected = {d.id: d for d in funds.deadlines.values() if d.receiver.startswith(division)}
    actual = {item["id"]: item for item in items}
    out = []
    for deadline_id in sorted(set(expected) | set(actual)):
        record, item = expected.get(deadline_id), actual.get(deadline_id)
        subject = f"deadline {deadline_id}"
        if record is None or item is None:
            out.append(Discrepancy("funds", "deadline", subject, record and record.state, item and item["state"],
                                   record.set_seq if record else None,
                                   "set by an event but not listed by the service" if item is None
                                   else "listed by the service but set by no event"))
            continue
        want = {"state": record.state, "met on": record.met_on,
                "days overdue": _days_late(record.due, record.met_on)}
        # the funds service answers as of its clock; what its scheduler recorded (the events) is beside it
        got = {"state": item.get("recorded_state", item["state"]),
               "met on": item.get("recorded_settled_on", item["settled_on"]),
               "days overdue": item["days_overdue"] if record.met_on else None}
        for figure in want:
            if want[figure] != got[figure]:
                out.append(Discrepancy("funds", "deadline", f"{subject} ({record.kind}): {figure}", want[figure],
                                       got[figure], record.settled_seq or record.set_seq,
                                       "the deadline events imply this; the service reports another"))
    return out


def _days_late(due: str | None, met_on: str | None) -> int | None:
    if not (due and met_on):
        return None
    late = (date.fromisoformat(met_on[:10]) - date.fromisoformat(due[:10])).days
    return late if late > 0 else None


def _account(item: Mapping[str, Any]) -> tuple:
    return (item["division"], item["role"], item["channel"], item["fiscal_year"], item["kind"], item.get("reference") or None)


def _label(account: tuple) -> str:
    division, role, channel, year, kind, reference = account
    return f"{division}:{role}:{channel}:{year}:{kind}" + (f"/{reference}" if reference else "")


def statistic_differences(registry: RegistryRebuilt, reported: Mapping[str, Any], division: str,
                          year: int) -> list[Discrepancy]:
    expected = registry.statistics(division, year).as_dict()
    return [Discrepancy("registry", "statistic", f"statistics {division or 'national'} {year}: {path}", want, got,
                        registry.last_seq, "compute_statistics over the households the events rebuild")
            for path, want, got in _leaf_differences(expected, reported)]


def _leaf_differences(expected: Any, actual: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual), key=str):
            yield from _leaf_differences(expected.get(key), actual.get(key), f"{path}.{key}" if path else str(key))
    elif expected != actual:
        yield path, expected, actual


async def _pages(live: Live, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    items, cursor = [], None
    while True:
        page = await live.get(service, path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _households(live: Live, scope: str) -> dict[str, str]:
    return {item["number"]: item["status"] for item in await _pages(live, "registry", "/households", division=scope)}


def project_differences(projects: ProjectsRebuilt, funds: FundsRebuilt | None, reported: list[Mapping[str, Any]],
                        division: str) -> list[Discrepancy]:
    money = funding_by_project(projects, funds)
    expected = {code: p for code, p in projects.projects.items() if p.division.startswith(division)}
    actual = {item["code"]: item for item in reported}
    out = []
    for code in sorted(set(expected) | set(actual)):
        project, item = expected.get(code), actual.get(code)
        if project is None or item is None:
            out.append(Discrepancy("projects", "project", f"project {code}", project and project.stage,
                                   item and item["stage"], project.last_seq if project else None,
                                   "in the events but not listed by the service" if item is None
                                   else "listed by the service but created by no event"))
            continue
        want = {"stage": project.stage, **{k: v for k, v in money[code].as_dict().items() if k != "remaining"},
                "beneficiary households": len(project.beneficiaries)}
        got = {"stage": item["stage"], **{k: item["funding"][k] for k in ("committed", "paid", "stranded")},
               "beneficiary households": item["beneficiaries"]["households"]}
        for figure in want:
            if want[figure] != got[figure]:
                out.append(Discrepancy("projects", "project", f"project {code}: {figure}", want[figure], got[figure],
                                       project.last_seq, "the projects domain over the projects and funds events"))
    return out


def status_differences(registry: RegistryRebuilt, reported: Mapping[str, str], division: str) -> list[Discrepancy]:
    expected = {h.number: h for h in registry.households.values() if h.division.startswith(division)}
    out = []
    for number in sorted(set(expected) | set(reported)):
        household = expected.get(number)
        want = household.status if household else None
        got = reported.get(number)
        if want != got:
            out.append(Discrepancy("registry", "household_status", f"household {number}", want, got,
                                   household.last_seq if household else None,
                                   "status after the household's last event" if household
                                   else "the service lists a household no event created"))
    return out

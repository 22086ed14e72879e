"""The projects gate as the use cases call it (the rule: :mod:`services.funds.domain.gate`): one
look-up of the projects' rows in the funds service's read model, then the domain's verdict per
project. Commitments and single disbursements raise (or refuse the one request); batch lines are
refused one by one with the code and reason."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.domain import gate
from shared.db import fetch
from shared.errors import Unprocessable

_PROJECTS = ("SELECT code, division, in_library, publicity_passed, cancelled FROM projects_view "
             "WHERE code = ANY($1::text[])")


async def unfundable(session: AsyncSession, codes: Iterable[str], county: str) -> dict[str, str]:
    """The projects among ``codes`` the county may not put money into: {project code: refusal code}."""
    wanted = sorted(set(codes))
    return unfundable_of(await fetch(session, _PROJECTS, wanted), wanted, county)


def unfundable_of(found: Iterable[Sequence[Any]], codes: Iterable[str], county: str) -> dict[str, str]:
    """:func:`unfundable`, given the rows (code, division, in_library, publicity_passed, cancelled)
    of ``projects_view`` found for ``codes`` (looked up by the caller, with other things)."""
    rows = {code: {"code": code, "division": division, "in_library": in_library, "publicity_passed": passed,
                   "cancelled": cancelled}
            for code, division, in_library, passed, cancelled in found}
    verdicts = {code: gate.refusal(rows.get(code), county) for code in set(codes)}
    return {code: refused for code, refused in verdicts.items() if refused is not None}


def problem(project_code: str, code: str) -> Unprocessable:
    """The 422 of a request refused by the gate, naming ``project_code`` and the reason."""
    return Unprocessable(gate.sentence(project_code, code), slug="project-not-fundable", code=code,
                         errors=[{"field": "project_code", "reason": gate.REASONS[code]}])


async def require_fundable(session: AsyncSession, project_code: str, county: str) -> None:
    """Raise the gate's 422 unless ``county`` may put money into ``project_code``."""
    refused = (await unfundable(session, [project_code], county)).get(project_code)
    if refused is not None:
        raise problem(project_code, refused)

"""What the funds service knows of a project (its read model of the projects service's events):
whether money may be committed to it, and the money committed, paid and stranded so far."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.funds.api.payment_schemas import FundsProjectOut
from services.funds.api.reports import Readers
from services.funds.domain import gate
from services.funds.models import projects_view
from services.funds.usecases.figures import project_figures
from shared.auth import ensure_jurisdiction
from shared.errors import NotFound
from shared.web import Session, router

fundable = router(tags=["projects gate"])


@fundable.get("/projects/{code}", summary="A project as the funds service sees it: fundable or not, and its money",
              description="From the projects service's events (`projects.project.entered_library`, `.cancelled`): "
              "money may be committed only while the project is in the library with its publicity passed and not "
              "cancelled. Its money as separate figures: `committed` (bound to it, net of de-commitments) = `paid` + "
              "`remaining` (committed, unpaid) + `stranded` (滞留, still held) + `returned` (to the province); and "
              "`decommitted` (given back to the pool). Reversals (冲正) count as their original taken back.",
              responses={200: {"model": FundsProjectOut},
                         404: {"description": "the funds service has no event about this project"}})
async def project(code: str, principal: Readers, session: Session) -> dict[str, Any]:
    row = (await session.execute(select(projects_view).where(projects_view.c.code == code))).mappings().first()
    if row is None:
        raise NotFound(f"资金系统未收到项目{code}的入库信息 (no event about project {code} has reached the funds service)")
    ensure_jurisdiction(principal, row["division"])
    return {"code": code, "division": row["division"], "in_library": row["in_library"],
            "publicity_passed": row["publicity_passed"], "cancelled": row["cancelled"],
            "fundable": gate.refusal(row, row["division"]) is None,
            **await project_figures(session, code)}

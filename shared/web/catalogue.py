"""``GET /catalogue``: every code list a service accepts or returns, with Chinese and English
labels and the rule or document a list comes from — what a client builds its forms and labels
from, and what makes a bare code in a response (``agri_integrated_drinking_water``) explain itself.

A service describes each list once as a :class:`shared.catalogue.CodeList` over its :class:`~shared.vocabulary.Vocabulary`
(``fields`` names the JSON fields that carry its codes); :func:`catalogue_router` serves them,
after the lists every service shares (announcements). The catalogue is public: codes and labels
are not personal data, and the public board's readers need them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.catalogue import CodeList, shared_lists
from shared.web.app import router

__all__ = ["CatalogueOut", "catalogue_router"]


class PreconditionOut(BaseModel):
    name: str
    label: str = Field(description="中文 (what must be true before the step)")


class CodeOut(BaseModel):
    """A code and the facts its list knows of it — each fact present only on the lists that have it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)  # a fact added later reaches clients as is
    code: str = Field(description="the code as stored and sent")
    zh: str = Field(description="中文名称 (Chinese label, as printed on announcements)")
    en: str = Field(description="English label")
    citation: str | None = Field(None, description="policy rules: the document the rule comes from")
    jurisdictions: list[str] | None = Field(None, description="policy rules: the division prefixes it is set for")
    forbidden: bool | None = Field(None, description="purposes: on the negative list (财农〔2017〕8号)")
    origin: str | None = Field(None, description="channels: the level whose budget the money comes from")
    integrable: bool | None = Field(None, description="channels: may be integrated (涉农资金整合)")
    source_level: str | None = Field(None, description="channels: the level that allocates it")
    category: str | None = Field(None, description="project types: the category (产业发展, 基础设施 …)")
    forms_assets: bool | None = Field(None, description="project types: forms assets to hand over (资产确权)")
    from_: list[str] | None = Field(None, alias="from", description="lifecycle steps: the stages it starts from")
    to: str | None = Field(None, description="lifecycle steps: the stage it leads to")
    offices: list[str] | None = Field(None, description="lifecycle steps: the levels whose offices take it")
    preconditions: list[PreconditionOut] | None = Field(None, description="lifecycle steps: what must hold first")
    event: str | None = Field(None, description="lifecycle steps: the event it appends")
    min_score: int | None = Field(None, description="performance ratings: the lowest score of the band")
    unit: str | None = Field(None, description="百企千村 commitments: the unit of the target")


class CodeListOut(BaseModel):
    name: str = Field(description="the list's stable name, e.g. `channel`")
    zh: str
    en: str
    fields: list[str] = Field(description="the JSON fields whose values are codes of this list")
    citation: str | None = Field(description="the policy document the list comes from, when one does")
    codes: list[CodeOut]


class CatalogueOut(BaseModel):
    service: str
    lists: list[CodeListOut]


def catalogue_router(code_lists: Callable[[Request], Iterable[CodeList]]) -> APIRouter:
    """``GET /catalogue`` over the service's lists (``code_lists(request)``: some depend on the
    policy in force, e.g. the negative list) and the shared ones."""
    catalogue = router(tags=["code lists"])

    @catalogue.get("/catalogue", summary="Code lists (代码表): every code this service accepts or returns",
                   description="Each list with its Chinese and English labels, the JSON fields that carry its codes, "
                   "and the policy document it comes from. Public: no token needed.",
                   response_model_exclude_unset=True, response_model_by_alias=True)  # a code's facts: only its list's
    async def read_catalogue(request: Request) -> CatalogueOut:
        lists = [*code_lists(request), *shared_lists(request.app.state.policy)]
        return CatalogueOut(service=request.app.state.settings.service,
                            lists=[CodeListOut.model_validate(c.as_dict()) for c in lists])

    return catalogue

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


class CodeOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # facts of a code: forbidden, citation, origin …
    code: str = Field(description="the code as stored and sent")
    zh: str = Field(description="中文名称 (Chinese label, as printed on announcements)")
    en: str = Field(description="English label")


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
                   "and the policy document it comes from. Public: no token needed.")
    async def read_catalogue(request: Request) -> CatalogueOut:
        lists = [*code_lists(request), *shared_lists(request.app.state.policy)]
        return CatalogueOut(service=request.app.state.settings.service,
                            lists=[CodeListOut.model_validate(c.as_dict()) for c in lists])

    return catalogue

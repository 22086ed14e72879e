"""The base of every service's documented answer models (``services/<svc>/api/schemas.py``, issue 14):
what a route answers, for the OpenAPI document and generated clients. The server does not validate
its answers against them; members may be added later, so a model allows ``extra`` (a client keeps
working) while tests check answers against it closed (``tests/service/answer_models.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["YUAN", "Answer", "YuanOut"]

#: money as answered (``shared.money.format_fen``): signed yuan with two decimals
YUAN = r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$"
YuanOut = Annotated[str, Field(pattern=YUAN, description="yuan, two decimals")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")

"""What the registry's answer models share: the code types, each a ``Literal`` of its vocabulary
(``domain/codes.py``) so the OpenAPI document lists the codes as an enum, and the answer of a write
that posts an announcement."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.registry.domain.codes import VOCABULARIES
from shared.web.answers import Answer

Status = Literal[VOCABULARIES["status"].codes]  # type: ignore[valid-type]
Cause = Literal[VOCABULARIES["cause"].codes]  # type: ignore[valid-type]
Relation = Literal[VOCABULARIES["relation"].codes]  # type: ignore[valid-type]
PovertyAttribute = Literal[VOCABULARIES["poverty_attribute"].codes]  # type: ignore[valid-type]
Pathway = Literal[VOCABULARIES["pathway"].codes]  # type: ignore[valid-type]
Division = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit division code")]


class AnnouncedOut(Answer):
    announcement_id: str = Field(description="the announcement on the board (GET /public/notices/{announcement_id})")

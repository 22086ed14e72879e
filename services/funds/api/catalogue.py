"""``GET /catalogue`` of the funds service (shared/web/catalogue.py): its code lists, the
negative list as the national policy in force today marks it (``GET /purposes`` answers for the
caller's own division)."""

from __future__ import annotations

from services.funds.domain.code_lists import funds_code_lists
from shared.web.catalogue import catalogue_router

catalogue = catalogue_router(
    lambda request: funds_code_lists(request.app.state.policy, "", request.app.state.clock.today()))

"""Imports run one way: the web layer (``shared/web``) imports no feature package, the
announcements build on it, and the announcements' pure domain loads without the web stack or the
database toolkit (each checked in a fresh interpreter, so nothing imported by the test runner
hides a circle)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    out = subprocess.run([sys.executable, "-c", f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_announcements_domain_loads_without_fastapi_or_sqlalchemy():
    loaded = loaded_after("import shared.announcements.domain")
    assert not {"fastapi", "starlette", "sqlalchemy", "sqlmodel"} & loaded
    assert "shared.announcements.service" not in loaded


def test_the_use_cases_are_still_reached_through_the_package():
    loaded = loaded_after("from shared.announcements import require_passed")
    assert "shared.announcements.service" in loaded and "shared.announcements.api" not in loaded


def test_the_web_layer_imports_no_announcement_router_or_scheduler():
    loaded = loaded_after("import shared.web.app")
    assert not {"shared.announcements.api", "shared.announcements.public", "shared.announcements.scheduler",
                "shared.announcements.routes"} & loaded


def test_every_service_mounts_the_announcements_itself():
    from services.funds.app import create_app
    from shared.announcements.routes import ROUTERS
    from shared.config import FundsSettings

    app = create_app(FundsSettings(), run_background=False)
    served = set(app.openapi()["paths"])
    assert {route.path for router in ROUTERS for route in router.routes if route.include_in_schema} <= served

"""Demo data for ``fupin dev up --demo``, loaded through the REST APIs as a real client would.

The services start on a settable clock (``base.CLOCK_START``) and the steps move it forward, so a
newcomer sees a year of 精河县: the registry (DOMAIN §9), projects at every stage, and money from
the central appropriation to the payees, with deadlines met and missed.

Every write carries a fixed Idempotency-Key and generated files are deterministic, so running the
demo again against the same data replays instead of duplicating. A step runs when every service
it names is among the clients (a test may load only the registry's part).
"""

from __future__ import annotations

from typing import Callable, Mapping

import httpx

from deploy.demo.base import CLOCK_START, Demo, Step, Token
from deploy.demo.funds import funds_down_the_levels, funds_to_projects, road_cancelled_stranded_and_back
from deploy.demo.projects import projects_implementation, projects_into_library
from deploy.demo.registry import registry_assistance, registry_divisions, registry_households

__all__ = ["CLOCK_START", "DEMO_STEPS", "Demo", "load_demo"]

#: (title, services the step needs, step) in the order of the demo's timeline
DEMO_STEPS: list[tuple[str, tuple[str, ...], Step]] = [
    ("registry reference data", ("registry",), registry_divisions),
    ("registry households (DOMAIN §9)", ("registry",), registry_households),
    ("helpers and measures for every household on the roll", ("registry",), registry_assistance),
    ("projects into the library (January 2018)", ("registry", "projects"), projects_into_library),
    ("funds down the levels (February – April)", ("funds",), funds_down_the_levels),
    ("funds onto the projects, a disbursement batch (April)", ("registry", "projects", "funds"), funds_to_projects),
    ("a cancelled project's money stranded and back (April)", ("projects", "funds"), road_cancelled_stranded_and_back),
    ("projects implemented, accepted, handed over (April – December)", ("registry", "projects", "funds"),
     projects_implementation),
]


async def load_demo(clients: Mapping[str, httpx.AsyncClient], token: Token, say: Callable[[str], None] = print) -> Demo:
    demo = Demo(clients, token)
    for title, needs, step in DEMO_STEPS:
        if all(service in clients for service in needs):
            say(f"  demo: {title} … {await step(demo)}")
    return demo

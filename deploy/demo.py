"""Demo data for ``fupin dev up --demo``, loaded through the REST APIs as a real client would.

Each service issue contributes its steps to :data:`DEMO_STEPS` (a step is a function of the
running stack: it calls the services' APIs with development tokens). The foundation has no
business endpoints yet, so there is nothing to load until the registry, funds and projects
issues land.
"""

from __future__ import annotations

from typing import Callable

DEMO_STEPS: list[tuple[str, Callable]] = []


def load_demo(stack) -> None:
    if not DEMO_STEPS:
        print("  demo data: none yet — the registry, funds and projects issues add it")
        return
    for title, step in DEMO_STEPS:
        print(f"  demo: {title} …", flush=True)
        step(stack)

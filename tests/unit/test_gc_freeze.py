"""What a service built at start-up is frozen out of the garbage collector's generations while it
serves (a collection does not walk it on every request), and thawed when the app shuts down."""

from __future__ import annotations

import asyncio
import gc

from shared.config import settings_for


def test_start_up_objects_are_frozen_while_the_app_serves_and_thawed_at_shutdown():
    from services.funds.app import create_app
    settings = settings_for("funds", database_url="postgresql://x@127.0.0.1/x", migrate_on_start=False)
    app = create_app(settings, run_background=False)
    seen = []

    async def serve():
        async with app.router.lifespan_context(app):
            seen.append(gc.get_freeze_count())
        seen.append(gc.get_freeze_count())

    gc.unfreeze()
    asyncio.run(serve())
    assert seen[0] > 10_000 and seen[1] == 0

"""Closes announcements whose period is over, on the service's Clock."""

from __future__ import annotations

import asyncio

from shared.announcements import service
from shared.events.worker import Worker
from shared.logging import get_logger

log = get_logger("fupin.announcements")


class AnnouncementScheduler(Worker):
    def __init__(self, sessionmaker, clock, every_seconds: float, service_name: str):
        super().__init__()
        self.name = f"announcement-scheduler-{service_name}"
        self.sessionmaker, self.clock, self.every = sessionmaker, clock, every_seconds

    async def tick(self) -> int:
        async with self.sessionmaker() as session, session.begin():
            closed = await service.close_due(session, clock=self.clock)
        for row in closed:
            log.info("announcement closed", id=str(row.id), outcome=row.outcome)
        return len(closed)

    async def session(self) -> None:
        while not self._stopping:
            await self.tick()
            await asyncio.sleep(self.every)

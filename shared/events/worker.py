"""A background task that reconnects: the relay and the consumer are both one."""

from __future__ import annotations

import asyncio

from shared.logging import get_logger

log = get_logger("fupin.worker")


class Worker:
    """Runs :meth:`session` until stopped; when it fails (broker or database down), waits with
    exponential backoff (0.2 s … 5 s) and runs it again from durable state."""

    name = "worker"

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def session(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                await self.session()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — reconnect and resume
                log.warning("interrupted", worker=self.name, error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

"""Helpers for code that handles tens of thousands of rows in one request (imports, batches).

* :func:`uuid7s` — many UUIDv7 strings at once (RFC 9562 §6.2 method 1: a 32-bit counter under
  one millisecond stamp, then 42 random bits). ``uuid6.uuid7()`` costs ~8 µs and, called faster
  than once per millisecond, bumps its timestamp by 1 ms per call — a million ids would be dated
  ~17 minutes into the future; this keeps the real millisecond, orders ids by creation (B-tree
  friendly) and costs ~1 µs.
* :func:`gc_paused` — no cyclic garbage collection while a large acyclic data set is built: each
  collection of the older generations walks every live container (it cost a third of the batch
  endpoint's CPU and ~40% of an import's parsing). Reference counting still frees everything; the
  collector is re-enabled when the last holder leaves. What was built and is still alive then is
  moved to the oldest generation without a walk (:func:`_promote_survivors`): re-enabled as it was,
  the collector's first collection walked all of it — 1.7 s of the audit's rebuilding process,
  3.4 million objects (bench/RESULTS.md, 2026-12-05) — and the next one walked it again.
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused", "uuid7s"]


class _Uuid7:
    def __init__(self) -> None:
        self.stamp = self.counter = 0
        self.random = random.Random(os.urandom(32))
        self.lock = threading.Lock()

    def take(self, n: int) -> list[str]:
        with self.lock:
            stamp = time.time_ns() // 1_000_000
            if stamp > self.stamp:
                self.stamp, self.counter = stamp, 0
            if self.counter + n >= 1 << 32:
                self.stamp, self.counter = self.stamp + 1, 0
            base, counter = (self.stamp << 80) | (0x7 << 76) | (0b10 << 62), self.counter
            self.counter += n
            bits = self.random.getrandbits
        out: list[str] = []
        append_ = out.append
        for c in range(counter, counter + n):
            h = f"{base | ((c >> 20) << 64) | ((c & 0xFFFFF) << 42) | bits(42):032x}"
            append_(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return out


#: ``uuid7s(n)``: n new UUIDv7 strings, in creation order.
uuid7s = _Uuid7().take

_gc_lock = threading.Lock()
_gc_state = {"holders": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    with _gc_lock:
        if _gc_state["holders"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["holders"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["holders"] -= 1
            if _gc_state["holders"] == 0 and _gc_state["was_enabled"]:
                _promote_survivors()
                gc.enable()


def _promote_survivors() -> None:
    """Every object the collector tracks moved to its oldest generation, unwalked: ``freeze``
    then ``unfreeze`` (two list splices). Cyclic garbage among them waits for the next full
    collection instead of the next young one; nothing is kept that a collection would free. Not
    in a process that has frozen objects of its own (a service freezes what its start-up built,
    shared.web.app): ``unfreeze`` would thaw those too, and full collections walk them again."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()

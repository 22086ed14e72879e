"""The planning documents (seeds) beside the checkout, which the citation tests read: the code and the
policy table cite them as ``seed 004 L27``. In CI (``CI`` set) a missing seed folder fails those tests
(the handbook is part of the build there); elsewhere they skip, saying why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "handbook" / "seeds"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def seeds(folder: Path | None = None) -> Path:
    """The seed folder; fails the test in CI when it is missing, skips it elsewhere."""
    folder = folder or SEEDS
    if folder.is_dir():
        return folder
    reason = f"seed folder {folder} not present (the handbook's seeds/ beside the checkout)"
    if in_ci():
        pytest.fail(f"{reason}: CI checks every seed citation", pytrace=False)
    pytest.skip(reason)

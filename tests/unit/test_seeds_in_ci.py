"""The seed-citation tests fail, not skip, in CI when the seed folder is missing (tests/seeds.py)."""

from __future__ import annotations

import pytest

from tests.seeds import SEEDS, seeds


def test_present_seeds_are_returned():
    if SEEDS.is_dir():
        assert seeds() == SEEDS


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_seeds_fail_in_ci(monkeypatch, tmp_path, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI checks every seed citation"):
        seeds(tmp_path / "nowhere")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_seeds_skip_elsewhere_saying_why(monkeypatch, tmp_path, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="seed folder .*nowhere not present"):
        seeds(tmp_path / "nowhere")

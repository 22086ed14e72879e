"""`fupin dev status` (deploy/runner.py `status`): the banner again while `fupin dev up` runs, and a
clear answer when it does not (tests/e2e/test_dev_up.py runs it against a real stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from deploy.cli import app
from deploy.embedded import free_port
from deploy.runner import RUNTIME_FILE, STATUS_FILE, status


def test_nothing_running_says_how_to_start(tmp_path):
    running, text = status(tmp_path)
    assert not running and "not running" in text and "make run" in text
    result = CliRunner().invoke(app, ["dev", "status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "not running" in result.output


def test_starting_when_only_the_runtime_file_is_there(tmp_path):
    (tmp_path / RUNTIME_FILE).write_text("{}")
    running, text = status(tmp_path)
    assert not running and "starting" in text


def test_a_runner_that_died_is_named(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / STATUS_FILE).write_text(json.dumps({"pid": pid, "ready_at": "x", "banner": "b", "urls": {}}))
    running, text = status(tmp_path)
    assert not running and f"pid {pid}" in text and "is gone" in text


def test_a_live_runner_gets_its_banner_back_with_each_service_now(tmp_path):
    port = free_port()  # nothing listens there
    banner = "\nFupin is running:\n  registry  http://x\n\nDevelopment tokens …\n  admin\n    tok.en\n\nCtrl-C stops everything."
    (tmp_path / STATUS_FILE).write_text(json.dumps({
        "pid": os.getpid(), "ready_at": "2026-12-03 14:00:00 +0000", "banner": banner,
        "urls": {"registry": f"http://127.0.0.1:{port}"}}))
    running, text = status(tmp_path)
    assert running and "Fupin is running:" in text and "tok.en" in text and "Ctrl-C" not in text
    assert "registry  not answering" in text
    result = CliRunner().invoke(app, ["dev", "status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "tok.en" in result.output

"""The log lines (shared/logging.py): one readable line each in development, JSON in production,
every line with its service, personal numbers masked in both, the libraries' chatter kept to
warnings."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared import logging as fupin_logging
from shared.config import settings_for

PERSON_ID = "65272219800101123X"
MOBILE = "13812345678"
ACCOUNT = "6222020200112233445"
DEV_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<level>[a-z]+) +(?P<service>\S+) +(?P<message>.*)$")


@pytest.fixture
def stream():
    out = io.StringIO()
    yield out
    fupin_logging.configure("INFO", json=True)  # what the other tests expect (stderr, JSON)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_development_lines_read_time_level_service_message_and_mask_numbers(stream):
    fupin_logging.configure("INFO", json=False, service="funds", stream=stream)
    fupin_logging.get_logger("test").info("paid", payee=f"户主 {PERSON_ID}", phone=MOBILE, account=ACCOUNT)
    logging.getLogger("uvicorn.error").info("served %s for %s", "/households", MOBILE)
    [ours, library] = lines(stream)
    first = DEV_LINE.match(ours)
    assert first and (first["level"], first["service"]) == ("info", "funds")
    assert first["message"].startswith("paid ")
    second = DEV_LINE.match(library)
    assert second and second["service"] == "funds" and "served /households for 138****5678" in second["message"]
    text = stream.getvalue()
    assert PERSON_ID not in text and MOBILE not in text and ACCOUNT not in text
    assert "652722********123X" in text and "138****5678" in text
    assert "\x1b[" not in text  # no colours when the stream is not a terminal


def test_production_lines_are_json_with_the_service_and_masked(stream):
    fupin_logging.configure("INFO", json=True, service="registry", stream=stream)
    fupin_logging.get_logger("test").warning("odd", note=f"证件 {PERSON_ID}", nested={"m": [MOBILE]})
    logging.getLogger("sqlalchemy.engine").error("lost %s", ACCOUNT)
    records = [json.loads(line) for line in lines(stream)]
    assert [(r["service"], r["level"]) for r in records] == [("registry", "warning"), ("registry", "error")]
    assert records[0]["nested"] == {"m": ["138****5678"]} and PERSON_ID not in records[0]["note"]
    assert ACCOUNT not in records[1]["event"]


def test_a_traceback_is_masked_too(stream):
    fupin_logging.configure("INFO", json=False, service="projects", stream=stream)
    try:
        raise ValueError(f"bad number {PERSON_ID}")
    except ValueError:
        fupin_logging.get_logger("test").exception("failed")
    assert "ValueError" in stream.getvalue() and PERSON_ID not in stream.getvalue()


@pytest.mark.parametrize("library", fupin_logging.CHATTY_LIBRARIES)
def test_library_chatter_is_kept_to_warnings(stream, library):
    fupin_logging.configure("INFO", json=False, service="audit", stream=stream)
    logging.getLogger(f"{library}.inner").info("Updating subscribed topics to: frozenset(...)")
    assert lines(stream) == []
    logging.getLogger(f"{library}.inner").warning("broker unreachable")
    assert len(lines(stream)) == 1 and "broker unreachable" in stream.getvalue()


def test_debug_lets_the_libraries_speak(stream):
    fupin_logging.configure("DEBUG", json=False, service="audit", stream=stream)
    logging.getLogger("aiokafka.consumer").info("Updating subscribed topics")
    assert "Updating subscribed topics" in stream.getvalue()


def test_python_warnings_are_log_lines_of_the_service():
    # in a process of its own: pytest keeps the warnings of its tests to itself
    code = ("import warnings; from shared import logging as l; l.configure('INFO', json=False, service='console'); "
            f"warnings.warn('deprecated call with {MOBILE}', DeprecationWarning)")
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    line = DEV_LINE.match(done.stderr.splitlines()[0])
    assert line and (line["level"], line["service"]) == ("warning", "console"), done.stderr
    assert "DeprecationWarning: deprecated call with 138****5678" in done.stderr and MOBILE not in done.stderr


def test_json_in_production_readable_in_development_unless_set(monkeypatch):
    for name in ("FUPIN_ENV", "FUPIN_LOG_JSON"):
        monkeypatch.delenv(name, raising=False)
    assert settings_for("registry").log_as_json is False
    assert settings_for("registry", log_json=True).log_as_json is True
    monkeypatch.setenv("FUPIN_ENV", "production")
    monkeypatch.setenv("FUPIN_SERVICE_TOKEN", "x")
    monkeypatch.setenv("FUPIN_JWT_JWKS_URL", "https://idp.example/jwks")
    assert settings_for("registry").log_as_json is True
    monkeypatch.setenv("FUPIN_LOG_JSON", "false")
    assert settings_for("registry").log_as_json is False


def test_a_library_configured_before_us_still_logs_through_the_masking(stream):
    # uvicorn's default logging config: its own stdout handlers, propagation off — around the masking
    import uvicorn

    uvicorn.Config(lambda scope, receive, send: None).load()
    fupin_logging.configure("INFO", json=False, service="registry", stream=stream)
    logging.getLogger("uvicorn.access").warning(f"GET /persons/{PERSON_ID} 200")
    logging.getLogger("uvicorn.error").warning(f"lost a connection from {MOBILE}")
    text = stream.getvalue()
    assert len(lines(stream)) == 2 and PERSON_ID not in text and MOBILE not in text, text

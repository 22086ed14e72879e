"""Logs (structlog): JSON lines in production, one human-readable line each in development
(``FUPIN_ENV``; ``FUPIN_LOG_JSON`` overrides). Every line names the ``service`` that wrote it.

No full ID number or mobile number reaches a log line: every string value, nested ones and
formatted tracebacks included, passes :func:`shared.masking.mask_personal_numbers` on its way out —
also for the standard library's loggers (uvicorn, SQLAlchemy, aiokafka), which are routed through
the same processors. The libraries' routine chatter (aiokafka's metadata updates, httpx's request
lines, uvicorn's access lines, SQLAlchemy's statements) is kept to warnings and above unless the
level asked for is DEBUG."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from shared.masking import mask_personal_numbers

#: loggers whose INFO lines are routine (a consumer's metadata refresh every few seconds, one line
#: per HTTP request made or served, SQL statements): WARNING and above only
CHATTY_LIBRARIES = ("aiokafka", "httpx", "httpcore", "uvicorn.access", "sqlalchemy")
#: libraries whose default configuration installs handlers of their own
OWN_HANDLER_LIBRARIES = ("uvicorn", "uvicorn.error", "alembic")


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def _mask_personal_numbers(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    return {key: _masked(value) for key, value in event_dict.items()}


def _service_field(service: str) -> Processor:
    def add_service(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def console_renderer(colors: bool) -> structlog.dev.ConsoleRenderer:
    """``13:50:02 info    registry  message  key=value …``: time, level, service, message, the rest."""
    dim, bright, cyan, reset = ("\x1b[2m", "\x1b[1m", "\x1b[36m", "\x1b[0m") if colors else ("", "", "", "")

    def plain(width: int = 0, style: str = "") -> structlog.dev.KeyValueColumnFormatter:
        return structlog.dev.KeyValueColumnFormatter(key_style=None, value_style=style, reset_style=reset,
                                                     value_repr=str, width=width)

    levels = structlog.dev.ConsoleRenderer.get_default_level_styles(colors)
    return structlog.dev.ConsoleRenderer(
        columns=[
            structlog.dev.Column("timestamp", plain(style=dim)),
            structlog.dev.Column("level", lambda _key, value: f"{levels.get(value, '')}{value:<7}{reset}"),
            structlog.dev.Column("service", plain(width=9, style=cyan)),
            structlog.dev.Column("event", plain(style=bright)),
            structlog.dev.Column("", structlog.dev.KeyValueColumnFormatter(
                key_style=cyan, value_style="", reset_style=reset, value_repr=str)),
        ],
        exception_formatter=structlog.dev.plain_traceback,  # already text (format_exc_info), masked
    )


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured: a
    process that swaps stderr later (a test's capture, a daemon's redirection) keeps its log lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(level: str = "INFO", json: bool = True, service: str = "fupin", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging to ``stream`` (default: the current
    stderr): JSON lines when ``json``, else one readable line each; every line carries ``service``
    and passes the masking."""
    out: TextIO = stream or _Stderr()  # type: ignore[assignment]  # write/flush/isatty: all logging uses
    renderer: Processor = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                           else console_renderer(colors=out.isatty()))
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        (structlog.processors.TimeStamper(fmt="iso", utc=True) if json
         else structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False)),
        _service_field(service),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.processors.format_exc_info, _mask_personal_numbers, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    # the standard library's loggers (uvicorn's tracebacks, SQLAlchemy, aiokafka) through the same
    # masking and renderer
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared_processors, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    _mask_personal_numbers, renderer],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python's warnings too: one line each, with the service and masked
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if level.upper() == "DEBUG" else logging.WARNING)
    # A library configured before us (uvicorn's default config gives "uvicorn" and "uvicorn.access"
    # their own stdout handlers and stops propagation) would log around the masking: every library
    # logger goes through the root handler above, and none stays disabled by an earlier dictConfig.
    for name in (*CHATTY_LIBRARIES, *OWN_HANDLER_LIBRARIES):
        library = logging.getLogger(name)
        library.handlers, library.propagate, library.disabled = [], True, False


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)

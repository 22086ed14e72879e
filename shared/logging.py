"""Structured JSON logs (structlog). No full ID number or mobile number reaches a log line: every
string value, nested ones and formatted tracebacks included, passes
:func:`shared.masking.mask_personal_numbers` on its way out — also for the standard library's
loggers (uvicorn, SQLAlchemy, aiokafka), which are routed through the same processors."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.masking import mask_personal_numbers


def _masked(value):
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def _mask_personal_numbers(_logger, _name, event_dict):
    return {key: _masked(value) for key, value in event_dict.items()}


def configure(level: str = "INFO", json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    shared_processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.processors.format_exc_info, _mask_personal_numbers, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # the standard library's loggers (uvicorn's tracebacks, SQLAlchemy, aiokafka) through the same
    # masking and renderer
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared_processors, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    _mask_personal_numbers, renderer],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def get_logger(name: str | None = None):
    return structlog.get_logger(name)

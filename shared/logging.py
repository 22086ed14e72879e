"""Structured JSON logs (structlog). No full ID number ever reaches a log line: every string
value passes :func:`shared.idcard.mask_id_numbers_in` on its way out."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.idcard import mask_id_numbers_in


def _mask_id_numbers(_logger, _name, event_dict):
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = mask_id_numbers_in(value)
    return event_dict


def configure(level: str = "INFO", json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask_id_numbers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None):
    return structlog.get_logger(name)

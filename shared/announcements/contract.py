"""The announcement events every service publishes (its own ``<service>.`` prefix), as another
service may read them — the shapes of ``shared.announcements.service``. Version 1:

* ``<service>.announcement.drafted`` — subject: the announcement id; ``data``: ``subject_type``,
  ``subject_id``, ``level``, ``division``, ``title``, ``content`` (``body``, ``table``),
  ``people`` (as drafted: a reader that publishes them masks them, see ``domain.mask_person``),
  ``hotline_local``.
* ``<service>.announcement.published`` — ``period`` (``start``, ``end``, ``days``, ``unit``,
  ``rule``, ``citation``), ``rendered_text`` (masked), ``division``; the event's ``time`` is the
  publication time.
* ``<service>.announcement.withdrawn`` — ``reason``; ``time``: when.
* ``<service>.announcement.closed`` — ``outcome`` (passed | failed), ``period_end``,
  ``objections`` (count by status); ``time``: when.
* ``<service>.objection.filed`` — subject: the announcement id; ``objection_id``, ``text``,
  ``contact_digest`` (never the contact itself); the receipt number is
  :func:`objection_receipt` of ``objection_id``.
* ``<service>.objection.resolved`` — ``objection_id``, ``decision`` (upheld | dismissed), ``reason``.

Read by the registry's public board (one board per division for all services).
"""

from __future__ import annotations

import uuid

from shared import receipt_numbers
from shared.vocabulary import Vocabulary

#: who announces, as a villager reads it
SERVICE = Vocabulary.of("service", "公告发布方", "announcing service", [
    ("registry", "扶贫对象（建档立卡）", "household registry"), ("funds", "扶贫资金", "poverty-alleviation funds"),
    ("projects", "扶贫项目", "poverty-alleviation projects")])
SERVICES = SERVICE.codes
SERVICE_LABELS = {c.code: c.zh for c in SERVICE}
KINDS = ("announcement.drafted", "announcement.published", "announcement.withdrawn", "announcement.closed",
         "objection.filed", "objection.resolved")


def event_types(service: str) -> dict[str, str]:
    """{event type: kind} of one service's announcement events."""
    return {f"{service}.{kind}": kind for kind in KINDS}


def objection_receipt(objection_id: uuid.UUID | str) -> str:
    """The objection's receipt number (10 characters, Crockford base32 with a check character)."""
    return receipt_numbers.derived(str(objection_id))

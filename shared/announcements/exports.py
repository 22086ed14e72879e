"""Announcement lists as spreadsheets (``shared.web.export``), on every service: the officials'
list (``GET /announcements``), the public one (``GET /public/announcements``) and the registry's
archive of a division's board (``GET /public/boards/{division}/archive``) — one row per
announcement, codes shown by their Chinese labels.

No person listed in an announcement is written out (only how many there are), nor any objection's
text: a row holds what the announcement's JSON shows of itself, so nothing in the file is looser
than the JSON it comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.announcements.contract import SERVICE_LABELS
from shared.announcements.domain import ANNOUNCEMENT_VOCABULARIES, LEVEL_LABELS
from shared.web.export import Column, Export, labels

_VOCABULARIES = {vocabulary.name: vocabulary for vocabulary, _ in ANNOUNCEMENT_VOCABULARIES}


def _label(name: str):
    return _VOCABULARIES[name].label


def objections(status: str | None = None):
    """How many objections (of ``status``) a public view counts (``{status: count}``)."""
    def count(announcement: Mapping[str, Any]) -> int:
        found = announcement.get("objections") or {}
        return sum(n for s, n in found.items() if status is None or s == status)
    return count


#: one row per announcement, as the public list answers it (objections counted by status)
PUBLIC = Export("公告公示", rows="items", paginated=True, columns=(
    Column("title", "公告标题"),
    Column("service", "公告类别", label=labels(SERVICE_LABELS)),
    Column("subject_type", "事项类型"),
    Column("subject_id", "事项编号"),
    Column("level", "公示层级", label=labels(LEVEL_LABELS)),
    Column("division", "区划代码"),
    Column("status", "状态", label=_label("announcement_status")),
    Column("outcome", "公示结果", label=_label("announcement_outcome")),
    Column("period.start", "公示开始日期", "date"),
    Column("period.end", "公示截止日期", "date"),
    Column("period.citation", "公示期依据"),
    Column("published_at", "发布时间"),
    Column("closed_at", "结束时间"),
    Column("withdrawn_reason", "撤回原因"),
    Column(lambda a: len(a.get("people") or []), "公示人数", "int"),
    Column(objections(), "异议数", "int"),
    Column(objections("open"), "待处理异议数", "int"),
    Column(objections("upheld"), "成立异议数", "int"),
    Column("id", "公告编号"),
))

_OBJECTIONS = {"异议数", "待处理异议数", "成立异议数"}

#: the officials' list: the same row without the objection counts — the list does not load the
#: objections (``[]`` in its JSON; one announcement's read lists them)
OFFICIAL = Export("公告公示", rows="items", paginated=True,
                  columns=tuple(c for c in PUBLIC.columns if c.header not in _OBJECTIONS))

#: a division's board archive (the registry's): the public row without the subject's id (a board never shows it)
ARCHIVE = Export("公告公示档案", rows="items", columns=tuple(c for c in PUBLIC.columns if c.key != "subject_id"))

"""Announcements (公告公示): the publicity workflow every service uses with its own tables and
events — draft, publish for a period, objections, close as passed or failed — and the public
board where villagers read notices and object.

Workflows gate their next step with :func:`require_passed`.
"""

from shared.announcements.service import (
    announce, close_due, draft, file_objection, publish, require_passed, resolve_objection, withdraw,
)

__all__ = ["announce", "close_due", "draft", "file_objection", "publish", "require_passed", "resolve_objection", "withdraw"]

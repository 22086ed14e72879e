"""Field types of the API models: numbers bounded by the columns that store them, and required text
that must be visible. Declared in the schemas, so OpenAPI states every bound and a client learns
them before it sends anything.

1. **No integer overflows a column.** ``Int32`` fits PostgreSQL ``INTEGER``, ``Seq`` and ``BigId``
   fit ``BIGINT``; ``Year`` and ``FiscalYear`` are calendar years the records can hold. A number
   beyond them is a 422 naming the field, never a driver error. (Money is ``shared.money.Yuan``,
   bounded by ``MAX_FEN``, far inside ``BIGINT``.)
2. **A required name is a visible name.** ``Name`` (one line: a person, a household head, a
   project, a title) and ``Text`` (free text: a reason, a description) refuse values that are blank
   or made only of invisible characters — spaces of any width, zero-width and other format
   characters, combining marks alone, fillers — after NFKC. Surrounding whitespace is stripped;
   the value is otherwise kept as typed. A name holds no control character (not even a newline).

Control characters in any string are refused before validation by the input boundary
(``shared/web/boundary.py``); these types add what only a field's meaning can say.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

INT32_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
"""A PostgreSQL ``INTEGER``."""
Seq = Annotated[int, Field(ge=0, le=BIGINT_MAX, description="an event sequence number (BIGINT)")]
"""A position in an event log (``BIGINT``); 0 is "before the first event"."""
BigId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
"""A ``BIGINT`` identity (account ids)."""
Year = Annotated[int, Field(ge=1949, le=2100, description="a calendar year (1949–2100)")]
FiscalYear = Annotated[int, Field(ge=2000, le=2100, description="a fiscal year (2000–2100)")]
Day = Annotated[date, Field(ge=date(1949, 1, 1), le=date(2100, 12, 31), description="a day (1949-01-01 – 2100-12-31)")]
"""A day the records can hold: the day after 9999-12-31, or a China midnight before year 1, does not exist."""
Instant = Annotated[AwareDatetime, Field(ge=datetime(1949, 1, 1, tzinfo=timezone.utc),
                                         lt=datetime(2101, 1, 1, tzinfo=timezone.utc),
                                         description="an instant with its UTC offset (1949–2100)")]
"""An instant the records can hold (an offset at the calendar's ends would leave it)."""

#: characters that show nothing on their own: fillers that are letters by category
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn"})


def visible_length(value: str) -> int:
    """How many characters of ``value`` show once normalised (NFKC)."""
    return sum(unicodedata.category(c) not in _INVISIBLE_CATEGORIES and c not in _FILLERS and not c.isspace()
               for c in unicodedata.normalize("NFKC", value))


#: characters that show and stay themselves under NFKC: an ASCII letter or digit, a CJK unified
#: ideograph — a name holding one is visible without normalising it (nearly every name; a batch
#: checks 100,000 payee names)
_PLAINLY_VISIBLE = re.compile("[0-9A-Za-z\u4e00-\u9fff]")
#: category Cc exactly: C0, DEL and C1
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def is_visible(value: str) -> bool:
    """Whether ``value`` shows at least one character."""
    return _PLAINLY_VISIBLE.search(value) is not None or visible_length(value) > 0


def _visible(value: str) -> str:
    if not is_visible(value):
        raise ValueError("不能为空或只含不可见字符 (must not be blank or only invisible characters)")
    return value


def _one_line(value: str) -> str:
    if _CONTROL.search(value):  # unicodedata.category(c) == "Cc"
        raise ValueError("名称不能含控制字符或换行 (a name is one line without control characters)")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_visible)]
"""Required free text: at least one visible character (a reason, a description, objection text)."""
Name = Annotated[Text, AfterValidator(_one_line)]
"""A required name or title on one line: a person, a household head, a project, an announcement."""

__all__ = ["BIGINT_MAX", "INT32_MAX", "BigId", "Day", "FiscalYear", "Instant", "Int32", "Name", "Seq", "Text", "Year",
           "is_visible", "visible_length"]

"""Bulk import of 建档立卡 households and persons from ``.csv`` / ``.xlsx`` (issue 4, "Bulk import").

One row per person, with the household number (户编号) tying the rows of a household together —
the usual layout of the 建档立卡 spreadsheets. The import runs in three stages:

1. **Parse** the file (CSV in UTF-8 with or without BOM, GBK or GB18030, and ``.xls`` read by
   ``services.registry.files``; the first sheet of an ``.xlsx`` read with openpyxl in read-only
   mode). The header row is found among the first 20 rows (a title
   row above it is allowed); each header is matched to a column of :data:`LAYOUT` by its Chinese
   header, its English key or an alias (spaces, ``*`` and a unit in brackets such as ``（元）``
   are ignored). Unknown columns (序号, 联系电话 …) are ignored.
2. **Validate everything** before writing anything, against the file itself and the database
   (divisions, households and active persons). Every bad row is reported with its row number as
   in the file (the header is row 1 when it is the first row), the column's key and a bilingual
   reason. Household-level columns are validated on the household's first row; later rows of
   the household must agree with it (an "inconsistent" error names the first row). Messages
   never contain a full ID number (``shared.idcard.mask``); the number of the other household
   of a person who is already registered is given only in the error's ``household`` field, and
   only when the caller's jurisdiction covers that household. At most :data:`MAX_ERRORS` errors
   are returned, ``total_errors`` counts them all.
3. **Write** in the caller's single transaction (all or nothing): households, persons,
   ``household_incomes`` and ``household_status_history`` with COPY on the session's asyncpg
   connection, and the events that explain them (rule 2), one ``registry.households.imported``
   event per chunk of at most :data:`CHUNK` households, subject = the import id, carrying the
   full rows (ID numbers included: the log is internal). The status history wants one event per
   status row of a household (its primary key is (household_id, seq)), so a chunk that contains
   households imported as already exited gets a second event,
   ``registry.households.exits_imported``, whose seq the ``exited`` rows carry.

Event data is compact: each household is an array of :data:`HOUSEHOLD_FIELDS` whose ``members``
are arrays of :data:`MEMBER_FIELDS` (the field lists travel in every event; :func:`households_of`
gives dicts back). Against objects with keys this halves the log's size and the cost of
canonicalising and hashing it.

Speed (``bench/registry_import.py``, 1M persons): the row loop works on locals with caches (birth
dates, divisions, person-level code combinations) and computes the check digit in C
(``int(first17, 13)``); while the file is parsed in a thread, the database is already asked about
the ID and household numbers seen so far; writing is a pipeline (a thread prepares the next batch
of rows while PostgreSQL ingests the current one); cyclic GC is paused during an import; event
values are TOASTed with lz4 where the server supports it. PostgreSQL's own work (indexes and
foreign-key checks of the target tables) is most of what remains.

Dates: a household is ``registered`` on 12-31 of its 识别年度 and, with a 脱贫年度, ``exited`` on
12-31 of that year. Sex and birth date come from the ID number (GB 11643). Persons of exited
households stay active (the household is still on record; only removal frees a person).

The code lists map a cell to its code, one dict per column, all derived from the vocabularies of
``services/registry/domain/codes.py``: each code, its Chinese label and the variants found in real
spreadsheets (之妻, 五保户, 小学三年级 …).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import time
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import asyncpg
from sqlalchemy import text

from services.registry import files
from services.registry.contract import (
    HOUSEHOLD_FIELDS,
    HOUSEHOLDS_EXITS_IMPORTED,
    HOUSEHOLDS_IMPORTED,
    MEMBER_FIELDS,
    households_of,
)
from services.registry.domain.codes import SCHOOL_STAGE_PREFIXES, VOCABULARIES
from shared import divisions, idcard
from shared.bulk import gc_paused, uuid7s
from shared.db import raw_connection
from shared.errors import Unprocessable
from shared.events import NewEvent, append
from shared.fields import is_visible
from shared.masking import mask_personal_numbers
from shared.money import MoneyError, parse_yuan
from shared.web.boundary import forbidden_character

__all__ = [
    "CHUNK",
    "HOUSEHOLD_FIELDS",
    "MEMBER_FIELDS",
    "LAYOUT",
    "MAX_ERRORS",
    "Column",
    "ImportResult",
    "households_of",
    "layout_markdown",
    "parse_file",
    "run_import",
]

#: At most this many errors are returned (``total_errors`` counts them all).
MAX_ERRORS = 1000
#: Households per ``registry.households.imported`` event.
CHUNK = 200
#: Chunk events appended per ``append`` call (≥ 32 goes through COPY).
EVENTS_PER_APPEND = 50
EVENT_IMPORTED = HOUSEHOLDS_IMPORTED
EVENT_EXITS_IMPORTED = HOUSEHOLDS_EXITS_IMPORTED
#: Bounds of 识别年度 / 脱贫年度 (the upper bound is the clock's current year).
FIRST_YEAR = 2000

Progress = Callable[[str, int, "int | None"], None]
"""``progress(phase, done, total)``: phase is ``parse``, ``check`` or ``write``; total may be None."""


# -- code lists (cell → code), one per column ---------------------------------------------------
# Every spelling comes from the vocabularies of domain/codes.py (code, Chinese label, variants).

def _spellings(name: str) -> dict[str, str]:
    """The cells accepted for vocabulary ``name`` → code; the empty code (not a student) is the empty cell."""
    return {k: v for k, v in VOCABULARIES[name].spellings().items() if k}


POVERTY_ATTRIBUTE_CODES_ALL = _spellings("poverty_attribute")
CAUSE_CODES_ALL = _spellings("cause")
_SCHOOL_PREFIXES = SCHOOL_STAGE_PREFIXES


# -- the layout --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    level: str  # household | person
    required: bool
    description: str
    aliases: tuple[str, ...] = ()
    codes: Mapping[str, str] | None = None


LAYOUT: tuple[Column, ...] = (
    Column("household_number", "户编号", "household", True,
           "household number; the rows of one household share it", ("户号", "家庭编号")),
    Column("division", "行政区划代码", "household", True,
           "12-digit village code (统计用区划代码), in the divisions table and the caller's jurisdiction",
           ("区划代码", "行政区划", "村代码")),
    Column("name", "姓名", "person", True, "the person's name"),
    Column("id_number", "证件号码", "person", True,
           "18-digit 居民身份证号码 (GB 11643 check digit); sex and birth date are taken from it",
           ("身份证号码", "身份证号", "公民身份号码")),
    Column("relation", "与户主关系", "person", True,
           "户主/配偶/子女/父母/孙子女/兄弟姐妹/其他 or head/spouse/child/parent/grandchild/sibling/other; "
           "exactly one 户主 per household", ("与户主的关系", "关系"), _spellings("relation")),
    Column("ethnicity", "民族", "person", False, "free text, e.g. 汉族, 维吾尔族 (at most 20 characters)"),
    Column("education", "文化程度", "person", False,
           "学龄前儿童/文盲或半文盲/小学/初中/高中/中专/大专/本科/研究生 (or their codes)",
           (), _spellings("education")),
    Column("school_stage", "在校生状况", "person", False,
           "非在校生 (empty) or 学前教育/小学/初中/高中/中职/高职/本科/研究生; grade labels such as 小学三年级 accepted",
           ("在校生情况",), _spellings("school_stage")),
    Column("health", "健康状况", "person", False, "健康/长期慢性病/患有大病/残疾 (healthy/chronic/major_illness/disabled)",
           (), _spellings("health")),
    Column("labour_capacity", "劳动技能", "person", True,
           "普通劳动力/技能劳动力/弱劳动力或半劳动力/丧失劳动力/无劳动能力 "
           "(normal_labour/skilled_labour/weak_labour/no_labour/no_labour_ability)",
           ("劳动能力",), _spellings("labour_capacity")),
    Column("poverty_attribute", "贫困户属性", "household", True,
           "一般贫困户/低保贫困户/特困供养贫困户 (general/dibao/tekun)", ("贫困属性",),
           POVERTY_ATTRIBUTE_CODES_ALL),
    Column("main_cause", "主要致贫原因", "household", True,
           "因病 因残 因学 因灾 缺土地 缺水 缺技术 缺劳力 缺资金 交通条件落后 自身发展动力不足 其他 (or codes)",
           ("致贫原因",), CAUSE_CODES_ALL),
    Column("registered_year", "识别年度", "household", True,
           f"year of registration (建档立卡), {FIRST_YEAR}..this year; registered on 12-31 of it",
           ("建档年度", "识别年份")),
    Column("exit_year", "脱贫年度", "household", False,
           "year of exit, not before 识别年度; the household is imported as exited on 12-31 of it",
           ("脱贫年份",)),
    Column("net_income", "人均纯收入", "household", False,
           "per-capita net income of 识别年度 in yuan (\"3200.50\"; at most two decimals)",
           ("家庭人均纯收入",)),
)
COLUMNS_BY_KEY: dict[str, Column] = {c.key: c for c in LAYOUT}
_ORDER = {c.key: i for i, c in enumerate(LAYOUT)}
_HEADER_NOISE = re.compile(r"[\s*＊]|[（(][^）)]*[）)]")


def _norm_header(value: str) -> str:
    return _HEADER_NOISE.sub("", value).lower()


_HEADERS: dict[str, str] = {}
for _c in LAYOUT:
    for _name in (_c.header, _c.key, *_c.aliases):
        _HEADERS[_norm_header(_name)] = _c.key


def layout_markdown() -> str:
    """The layout as a Markdown table (for docs and the API description)."""
    lines = ["| 列 (header) | key | level | required | content |", "|---|---|---|---|---|"]
    for c in LAYOUT:
        lines.append(f"| {c.header} | `{c.key}` | {c.level} | {'yes' if c.required else 'no'} | {c.description} |")
    return "\n".join(lines)


# -- results and errors ------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    import_id: str
    households: int
    persons: int
    events: int


class _Errors:
    """Collects (row, field, reason[, extra]) and renders them sorted, capped, without full IDs."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str, str, dict[str, Any] | None]] = []

    def add(self, row: int, key: str, reason: str, **extra: Any) -> None:
        self.items.append((row, _ORDER.get(key, -1), key, reason, extra or None))

    def __len__(self) -> int:
        return len(self.items)

    def render(self) -> list[dict[str, Any]]:
        self.items.sort(key=lambda e: (e[0], e[1]))
        out = []
        for row, _, key, reason, extra in self.items[:MAX_ERRORS]:
            entry: dict[str, Any] = {"row": row, "field": key, "reason": mask_personal_numbers(reason)}
            if extra:
                entry.update(extra)
            out.append(entry)
        return out

    def problem(self, detail: str | None = None) -> Unprocessable:
        total = len(self.items)
        return Unprocessable(
            detail or f"导入文件有{total}处错误，未导入任何数据 (the file has {total} error(s); nothing was imported)",
            errors=self.render(), total_errors=total, truncated=total > MAX_ERRORS,
        )


# -- reading the file --------------------------------------------------------------------------

_ID_FLOAT = "\x00FLOAT"  # an ID number stored in a number cell (digits lost)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(source: bytes | Path) -> tuple[Iterator[tuple], int | None, Callable[[], None]]:
    import openpyxl
    from zipfile import BadZipFile

    try:
        book = openpyxl.load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source,
                                      read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Unprocessable(
            "无法读取xlsx文件 (the .xlsx file cannot be read)",
            errors=[{"row": 0, "field": "file", "reason": type(exc).__name__}], total_errors=1,
        ) from None
    sheet = book.worksheets[0]
    return sheet.iter_rows(min_row=1, values_only=True), sheet.max_row, book.close


@dataclass
class _Household:
    number: str
    first_row: int
    division: str
    poverty_attribute: str | None
    main_cause: str | None
    registered_year: int | None
    exit_year: int | None
    net_fen: int | None
    raw: tuple  # household-level values as compared across rows
    members: list[tuple] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    ok: bool = True  # household-level fields valid (division existence is checked later)


@dataclass
class Parsed:
    """What :func:`parse_file` found: households by number, errors so far, the file's digest."""

    file_sha256: str
    rows: int
    households: dict[str, _Household]
    errors: _Errors
    first_row_of_id: dict[str, int]  # valid ID number -> its (first) row


def _lookup(codes: Mapping[str, str], value: str) -> str | None:
    code = codes.get(value)
    if code is None:
        code = codes.get(value.lower())
    return code


def parse_file(source: bytes | Path, *, filename: str, jurisdiction: str, today: date,
               progress: Progress | None = None,
               on_batch: Callable[[list[str], list[str]], None] | None = None) -> Parsed:
    """Read and validate the file on its own (no database). Pure and CPU-bound: run it in a thread.

    ``on_batch(id_numbers, household_numbers)`` is handed the new valid ID numbers and household
    numbers every :data:`CHECK_BATCH` persons, so that the database can be asked about them while
    the rest of the file is parsed.
    """
    data = source.read_bytes() if isinstance(source, Path) else bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(filename).suffix.lower()
    close: Callable[[], None] = lambda: None  # noqa: E731
    if suffix == ".csv":
        rows: Iterable[Iterable[Any]] = files.csv_rows(data)[0]  # UTF-8 (BOM or not), GBK, GB18030
        total: int | None = data.count(b"\n") + 1
    elif suffix == ".xlsx":
        rows, total, close = _xlsx_rows(data)
    elif suffix == ".xls":
        rows, total = files.sheet_rows(data)
    else:
        raise Unprocessable(
            f"不支持的文件类型 {suffix or '(none)'}，应为 .csv、.xls 或 .xlsx (unsupported file type; use .csv, .xls "
            "or .xlsx)", errors=[{"row": 0, "field": "file", "reason": "expected .csv, .xls or .xlsx"}], total_errors=1,
        )
    try:
        return _parse_rows(iter(rows), digest, total, jurisdiction, today, progress, on_batch,
                           xlsx=suffix != ".csv")
    finally:
        close()


def _find_header(rows: Iterator[Iterable[Any]]) -> tuple[int, dict[str, int], _Errors]:
    errors = _Errors()
    for number in range(1, 21):
        try:
            cells = [_cell(v) for v in next(rows)]
        except StopIteration:
            break
        keys = [_HEADERS.get(_norm_header(c)) for c in cells]
        if "id_number" not in keys and "household_number" not in keys:
            continue
        index: dict[str, int] = {}
        for position, key in enumerate(keys):
            if key is None:
                continue
            if key in index:
                errors.add(number, key, f"列“{COLUMNS_BY_KEY[key].header}”重复 (column {key} appears twice)")
            index.setdefault(key, position)
        for column in LAYOUT:
            if column.required and column.key not in index:
                errors.add(number, column.key,
                           f"缺少必填列“{column.header}” (required column {column.key} is missing)")
        return number, index, errors
    errors.add(1, "file", "找不到表头行：前20行中没有“户编号”或“证件号码”列 "
                          "(no header row: none of the first 20 rows has 户编号 or 证件号码)")
    return 0, {}, errors


_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_CHECK = "10X98765432"


def _person_codes(combo: tuple) -> tuple:
    """Codes of (relation, labour_capacity, education, school_stage, health) cells and the problems
    found in them (and in the ethnicity length); cached per distinct combination by the row loop."""
    relation_raw, labour_raw, education_raw, school_raw, health_raw, long_ethnicity = combo
    problems = []
    out = []
    for key, value, required in (("relation", relation_raw, True), ("labour_capacity", labour_raw, True),
                                 ("education", education_raw, False), ("school_stage", school_raw, False),
                                 ("health", health_raw, False)):
        if not value:
            if required:
                problems.append((key, _code_reason(key, value)))
            out.append(None)
            continue
        code = _lookup(COLUMNS_BY_KEY[key].codes, value)
        if code is None and key == "school_stage":
            code = next((c for p, c in _SCHOOL_PREFIXES if value.startswith(p)), None)
        if code is None:
            problems.append((key, _code_reason(key, value)))
        out.append(code or None)  # school_stage "" = not a student
    if long_ethnicity:
        problems.append(("ethnicity", "民族超过20个字符 (ethnicity is longer than 20 characters)"))
    return (*out, tuple(problems))


#: ID numbers per batch handed to the database checks while parsing goes on.
CHECK_BATCH = 50_000


def _parse_rows(rows: Iterator[Iterable[Any]], digest: str, total: int | None, jurisdiction: str,
                today: date, progress: Progress | None,
                on_batch: Callable[[list[str], list[str]], None] | None, *, xlsx: bool) -> Parsed:
    """The row loop. Written for speed (it runs once per person): locals, one itemgetter per row,
    caches of birth dates and divisions, household-level values compared as raw strings first."""
    header_row, index, errors = _find_header(rows)
    if len(errors):
        raise errors.problem("导入文件的表头无效，未导入任何数据 (the file's header is invalid; nothing was imported)")
    add = errors.add
    width = max(index.values()) + 1
    absent = -1  # optional columns missing from the file read an empty cell appended to each row
    pad = len(index) < len(LAYOUT)
    pick = itemgetter(*(index.get(c.key, absent) for c in LAYOUT))
    i_id = index["id_number"]
    person_codes: dict[tuple, tuple] = {}  # the person-level code cells -> codes and problems
    attr_codes, cause_codes = COLUMNS_BY_KEY["poverty_attribute"].codes, COLUMNS_BY_KEY["main_cause"].codes
    provinces = idcard.PROVINCE_CODES
    id_match = _ID_RE.fullmatch
    strip = str.strip
    jurisdiction_prefix = _prefix(jurisdiction)
    this_year = today.year

    births: dict[str, tuple[date, str] | None] = {}  # YYYYMMDD -> (date, ISO text), None when impossible
    division_ok: dict[str, str | None] = {}  # code -> None (fine so far) or the reason
    households: dict[str, _Household] = {}
    first_row_of_id: dict[str, int] = {}
    row_number = header_row
    report_every = 20_000
    new_ids: list[str] = []
    new_numbers: list[str] = []

    for raw in rows:
        row_number += 1
        if progress is not None and row_number % report_every == 0:
            progress("parse", row_number, total)
        if xlsx:
            cells = [_cell(v) for v in raw]
            if i_id < len(cells) and isinstance(raw[i_id], float):
                cells[i_id] = _ID_FLOAT
        else:
            cells = list(map(strip, raw))
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        if pad:
            cells.append("")
        (hh_number, division, name, number, relation_raw, ethnicity, education_raw, school_raw, health_raw,
         labour_raw, attr_raw, cause_raw, reg_raw, exit_raw, income_raw) = pick(cells)
        if not number and not hh_number and not any(cells):
            continue  # a blank row

        # -- person-level ------------------------------------------------------------------
        if (char := forbidden_character("".join(cells).replace(_ID_FLOAT, ""))) is not None:
            add(row_number, "row", f"含有不允许的控制字符 (a cell holds a forbidden character U+{ord(char):04X})")
        if not name:
            add(row_number, "name", "姓名不能为空 (name is required)")
        elif not is_visible(name):
            add(row_number, "name", "姓名只含不可见字符 (name has only invisible characters)")
        elif len(name) > 50:
            add(row_number, "name", "姓名超过50个字符 (name is longer than 50 characters)")
        card_ok = False
        birth = None
        if number and not number[-1].isdigit():
            number = number.upper()
        # GB 11643 check digit: sum(d_i * 2**(17-i)) mod 11 equals 2 * int(first17, base 13) mod 11,
        # because 13 = 2 (mod 11); int() does the digit loop in C.
        if id_match(number) and number[:2] in provinces and _CHECK[2 * int(number[:17], 13) % 11] == number[17]:
            key = number[6:14]
            birth = births.get(key, 0)
            if birth == 0:
                try:
                    born = date(int(key[:4]), int(key[4:6]), int(key[6:]))
                    birth = (born, born.isoformat()) if 1900 <= born.year and born <= today else None
                except ValueError:
                    birth = None
                births[key] = birth
            if birth is not None:
                first = first_row_of_id.setdefault(number, row_number)
                if first == row_number:
                    card_ok = True
                    new_ids.append(number)
                    if len(new_ids) == CHECK_BATCH and on_batch is not None:
                        on_batch(new_ids, new_numbers)
                        new_ids, new_numbers = [], []
                else:
                    add(row_number, "id_number",
                        f"同一人在文件中重复出现，首次出现在第{first}行 ({idcard.mask(number)}: duplicate person, "
                        f"first listed in row {first})")
        if birth is None:
            add(row_number, "id_number", _id_reason(number, today))
        combo = (relation_raw, labour_raw, education_raw, school_raw, health_raw, len(ethnicity) > 20)
        codes = person_codes.get(combo)
        if codes is None:
            codes = person_codes[combo] = _person_codes(combo)
        relation, labour, education, school, health, problems = codes
        if problems:
            for key, reason in problems:
                add(row_number, key, reason)

        # -- household-level ---------------------------------------------------------------
        if not hh_number:
            add(row_number, "household_number", "户编号不能为空 (household number is required)")
            continue
        raw_values = (division, attr_raw, cause_raw, reg_raw, exit_raw, income_raw)
        household = households.get(hh_number)
        if household is None:
            household = households[hh_number] = _new_household(
                hh_number, row_number, raw_values, attr_codes, cause_codes, division_ok, jurisdiction_prefix,
                this_year, add)
            new_numbers.append(hh_number)
        elif raw_values != household.raw:
            mine, theirs = _comparable(raw_values), _comparable(household.raw)
            for key, a, b in zip(_HOUSEHOLD_KEYS, mine, theirs):
                if a != b:
                    add(row_number, key, f"与本户第{household.first_row}行不一致 "
                                         f"(differs from row {household.first_row} of the same household)")
        if relation == "head":
            household.heads.append(row_number)
            if len(household.heads) > 1:
                add(row_number, "relation", f"一户只能有一名户主，本户户主已在第{household.heads[0]}行 "
                                            f"(a household has exactly one head; its head is in row {household.heads[0]})")
        if card_ok:
            household.members.append((number, name, relation, "male" if number[16] in "13579" else "female",
                                      birth[0], birth[1], ethnicity or None, education, school, health, labour))

    if on_batch is not None and (new_ids or new_numbers):
        on_batch(new_ids, new_numbers)
    if progress is not None:
        progress("parse", row_number, row_number)
    for household in households.values():
        if not household.heads:
            add(household.first_row, "relation", "本户没有户主 (the household has no head, 户主)")
    if not households and not len(errors):
        add(header_row + 1, "file", "文件中没有数据行 (the file has no data rows)")
    return Parsed(digest, row_number - header_row, households, errors, first_row_of_id)


def _id_reason(number: str, today: date) -> str:
    if not number:
        return "证件号码不能为空 (ID number is required)"
    if number == _ID_FLOAT:
        return ("证件号码须以文本格式保存：数字格式的单元格已丢失位数 "
                "(the ID number must be stored as text: a number cell has lost digits)")
    try:
        idcard.parse(number, today)
        reason = "身份证号码无效 (invalid ID number)"
    except idcard.IdCardError as exc:
        reason = str(exc)
    return f"{reason}: {idcard.mask(number)}"


def _comparable(values: tuple) -> tuple:
    """Household-level values as compared across a household's rows (labels and codes alike)."""
    division, attr, cause, registered, exited, income = values
    return (division, _lookup(POVERTY_ATTRIBUTE_CODES_ALL, attr) or attr, _lookup(CAUSE_CODES_ALL, cause) or cause,
            registered, exited, income)


_HOUSEHOLD_KEYS = ("division", "poverty_attribute", "main_cause", "registered_year", "exit_year", "net_income")


def _code_reason(key: str, value: str) -> str:
    column = COLUMNS_BY_KEY[key]
    if not value:
        return f"{column.header}不能为空 ({key} is required)"
    shown = value if len(value) <= 30 else value[:30] + "…"
    return f"未知的{column.header}“{shown}” (unknown {key} {shown!r}; allowed: {column.description})"


def _prefix(jurisdiction: str) -> str:
    if jurisdiction in ("", divisions.NATIONAL):
        return ""
    return divisions.prefix(jurisdiction)


def _year(value: str) -> int | None:
    if len(value) == 4 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _new_household(number: str, row: int, raw: tuple, attr_codes: Mapping[str, str], cause_codes: Mapping[str, str],
                   division_ok: dict[str, str | None], jurisdiction_prefix: str, this_year: int,
                   add: Callable[..., None]) -> _Household:
    division, attr_raw, cause_raw, reg_raw, exit_raw, income_raw = raw
    attr = _lookup(attr_codes, attr_raw) if attr_raw else None
    cause = _lookup(cause_codes, cause_raw) if cause_raw else None
    ok = True
    if len(number) > 40:
        add(row, "household_number", "户编号超过40个字符 (household number is longer than 40 characters)")
        ok = False
    reason = division_ok.get(division, 0)
    if reason == 0:
        reason = _division_reason(division, jurisdiction_prefix)
        division_ok[division] = reason
    if reason is not None:
        add(row, "division", reason)
        ok = False
    if attr is None:
        add(row, "poverty_attribute", _code_reason("poverty_attribute", attr_raw))
        ok = False
    if cause is None:
        add(row, "main_cause", _code_reason("main_cause", cause_raw))
        ok = False
    registered = _year(reg_raw)
    if registered is None or not FIRST_YEAR <= registered <= this_year:
        add(row, "registered_year", f"识别年度应为{FIRST_YEAR}至{this_year}年之间的四位年份 "
                                    f"(registered_year must be a year from {FIRST_YEAR} to {this_year})"
            if reg_raw else "识别年度不能为空 (registered_year is required)")
        ok, registered = False, None
    exited = None
    if exit_raw:
        exited = _year(exit_raw)
        if exited is None or exited > this_year:
            add(row, "exit_year", f"脱贫年度应为不晚于{this_year}年的四位年份 (exit_year must be a year up to {this_year})")
            ok, exited = False, None
        elif registered is not None and exited < registered:
            add(row, "exit_year", f"脱贫年度{exited}早于识别年度{registered} "
                                  f"(exit_year {exited} is before registered_year {registered})")
            ok, exited = False, None
    net_fen = None
    if income_raw:
        try:
            net_fen = parse_yuan(income_raw)
        except MoneyError as exc:
            add(row, "net_income", str(exc))
            ok = False
    return _Household(number, row, division, attr, cause, registered, exited, net_fen, raw, ok=ok)


def _division_reason(code: str, jurisdiction_prefix: str) -> str | None:
    if not code:
        return "行政区划代码不能为空 (division is required)"
    if len(code) != 12:
        return "行政区划代码应为12位村级代码 (division must be a 12-digit village code)"
    try:
        level = divisions.level(code)
    except divisions.DivisionError as exc:
        return str(exc)
    if level is not divisions.Level.VILLAGE:
        return f"行政区划代码{code}不是村级代码 ({code} is a {level.value} code, not a village)"
    if not code.startswith(jurisdiction_prefix):
        return f"行政区划{code}不在管辖范围内 (division {code} is outside your jurisdiction)"
    return None


# -- checks against the database ---------------------------------------------------------------

class _Lookups:
    """The database's answers about the file's ID numbers and household numbers, asked batch by
    batch while the file is still being parsed (same connection, same transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[tuple[list[str], list[str]] | None] = asyncio.Queue()
        self.active: list[asyncpg.Record] = []  # (id_number, number, division) of active persons
        self.existing: set[str] = set()  # household numbers already registered
        self.task = asyncio.ensure_future(self._run())

    def submit_threadsafe(self, loop: asyncio.AbstractEventLoop) -> Callable[[list[str], list[str]], None]:
        return lambda ids, numbers: loop.call_soon_threadsafe(self.queue.put_nowait, (ids, numbers))

    async def _run(self) -> None:
        while (batch := await self.queue.get()) is not None:
            ids, numbers = batch
            if ids:
                self.active.extend(await self.conn.fetch(
                    "SELECT p.id_number, h.number, h.division FROM persons p "
                    "JOIN unnest($1::bpchar[]) AS u(id_number) ON p.id_number = u.id_number "
                    "JOIN households h ON h.id = p.household_id WHERE p.active", ids))
            if numbers:
                self.existing.update(r["number"] for r in await self.conn.fetch(
                    "SELECT number FROM households WHERE number = ANY($1::text[])", numbers))

    async def finish(self) -> None:
        self.queue.put_nowait(None)
        await self.task


async def _check_database(conn: asyncpg.Connection, parsed: Parsed, lookups: _Lookups,
                          jurisdiction_prefix: str) -> None:
    errors = parsed.errors
    households = parsed.households
    codes = sorted({h.division for h in households.values() if h.ok})
    known = {r["code"] for r in await conn.fetch(
        "SELECT code FROM divisions WHERE code = ANY($1::bpchar[])", codes)} if codes else set()
    existing = lookups.existing
    for household in households.values():
        if household.ok and household.division not in known:
            errors.add(household.first_row, "division",
                       f"未知的行政区划代码{household.division} (unknown division {household.division}: "
                       f"not in the divisions table)")
            household.ok = False
        if household.number in existing:
            errors.add(household.first_row, "household_number",
                       "户编号已存在于登记系统中 (this household number is already registered)")
            household.ok = False
    for r in lookups.active:
        visible = str(r["division"]).startswith(jurisdiction_prefix)
        errors.add(parsed.first_row_of_id[r["id_number"]], "id_number",
                   f"{idcard.mask(r['id_number'])}: 此人已在另一有效贫困户中"
                   f"{'' if visible else '（该户不在您的管辖范围内）'} "
                   f"(this person already belongs to an active household"
                   f"{'' if visible else ' outside your jurisdiction'})",
                   household=r["number"] if visible else None)


# -- the write ---------------------------------------------------------------------------------



_HOUSEHOLD_COLUMNS = ("id", "number", "division", "status", "poverty_attribute", "main_cause",
                      "registered_year", "registered_on", "exited_on", "created_at", "updated_at")
_PERSON_COLUMNS = ("id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "ethnicity",
                   "education", "school_stage", "health", "labour_capacity", "active")
_INCOME_COLUMNS = ("household_id", "year", "net_per_capita_fen")
_STATUS_COLUMNS = ("household_id", "seq", "status", "effective_on")


@dataclass
class _Batch:
    """The rows of a run of whole chunks, and the chunks' event payloads."""

    households: list[tuple]
    persons: list[tuple]
    incomes: list[tuple]
    chunks: list[tuple[list[list[Any]], list[dict[str, Any]], list[tuple]]]  # (imported, exits, status stubs)


#: Chunks per batch of the write pipeline (the next batch is prepared while this one is copied).
BATCH_CHUNKS = 50


def _batches(parsed: Parsed, now) -> Iterator[_Batch]:
    """COPY rows and event payloads, :data:`BATCH_CHUNKS` chunks at a time (CPU-bound: each
    ``next()`` runs in a thread while the previous batch is being copied)."""
    households = list(parsed.households.values())
    dec31: dict[int, tuple[date, str]] = {}
    per_batch = CHUNK * BATCH_CHUNKS
    for first in range(0, len(households), per_batch):
        part = households[first:first + per_batch]
        household_ids = uuid7s(len(part))
        next_person_id = iter(uuid7s(sum(len(h.members) for h in part))).__next__
        h_rows, p_rows, i_rows = [], [], []
        h_append, p_append, i_append = h_rows.append, p_rows.append, i_rows.append
        chunks = []
        current: list[list[Any]] = []
        exits: list[dict[str, Any]] = []
        stubs: list[tuple] = []  # (household_id, registered_on, exited_on or None)
        for household, hid in zip(part, household_ids):
            year = household.registered_year
            reg = dec31.get(year) or dec31.setdefault(year, (date(year, 12, 31), f"{year}-12-31"))
            exit_year = household.exit_year
            exit_ = None
            if exit_year is not None:
                exit_ = dec31.get(exit_year) or dec31.setdefault(
                    exit_year, (date(exit_year, 12, 31), f"{exit_year}-12-31"))
            status = "registered" if exit_ is None else "exited"
            exit_on = exit_ and exit_[0]
            h_append((hid, household.number, household.division, status, household.poverty_attribute,
                      household.main_cause, year, reg[0], exit_on, now, now))
            members = []
            m_append = members.append
            for number, name, relation, sex, birth, birth_iso, ethnicity, education, school, health, labour in household.members:
                pid = next_person_id()
                p_append((pid, hid, number, name, relation, sex, birth, ethnicity, education, school, health, labour,
                          True))
                m_append([pid, number, name, relation, sex, birth_iso, ethnicity, education, school, health, labour])
            if household.net_fen is not None:
                i_append((hid, year, household.net_fen))
            current.append([hid, household.number, household.division, status, household.poverty_attribute,
                            household.main_cause, year, reg[1], exit_year, exit_ and exit_[1], household.net_fen,
                            members])
            stubs.append((hid, reg[0], exit_on))
            if exit_ is not None:
                exits.append({"id": hid, "number": household.number, "exit_year": exit_year, "exited_on": exit_[1]})
            if len(current) == CHUNK:
                chunks.append((current, exits, stubs))
                current, exits, stubs = [], [], []
        if current:
            chunks.append((current, exits, stubs))
        yield _Batch(h_rows, p_rows, i_rows, chunks)


async def _write(session, conn: asyncpg.Connection, parsed: Parsed, *, import_id: str, now, actor: dict,
                 progress: Progress | None) -> tuple[int, int, int]:
    """COPY the rows, append the chunk events, COPY the status history.

    A pipeline on one connection: while PostgreSQL ingests one batch (its CPU, not ours, is the
    bottleneck there), a thread prepares the next one. Returns (households, persons, events).
    """
    total = sum(len(h.members) for h in parsed.households.values())
    households = persons = 0
    chunks: list[tuple] = []
    if progress is not None:
        progress("write", 0, total)
    batches = _batches(parsed, now)
    pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            await conn.copy_records_to_table("households", records=batch.households, columns=_HOUSEHOLD_COLUMNS)
            await conn.copy_records_to_table("persons", records=batch.persons, columns=_PERSON_COLUMNS)
            if batch.incomes:
                await conn.copy_records_to_table("household_incomes", records=batch.incomes, columns=_INCOME_COLUMNS)
            households += len(batch.households)
            persons += len(batch.persons)
            chunks.extend(batch.chunks)
            if progress is not None:
                progress("write", int(persons * 0.8), total)
    finally:
        if not pending.done():  # a COPY failed: let the preparing thread finish before unwinding
            await asyncio.wait([pending])

    # The events go last: append serialises on the log's advisory lock, held from then to commit.
    # Their large jsonb values are compressed with lz4 where the server has it (pglz costs ~3x the
    # CPU); SET LOCAL ends with the transaction.
    if await conn.fetchval("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"):
        await conn.execute("SET LOCAL default_toast_compression = 'lz4'")
    count = len(chunks)
    events_written = 0
    status_rows: list[tuple] = []
    digest = parsed.file_sha256
    for first in range(0, count, EVENTS_PER_APPEND):
        batch_chunks = chunks[first:first + EVENTS_PER_APPEND]
        events, slots = [], []
        for n, (imported, exits, _) in enumerate(batch_chunks, start=first + 1):
            events.append(NewEvent(EVENT_IMPORTED, import_id, {
                "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
                "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
                "households": imported}, actor))
            slots.append((len(events) - 1, None))
            if exits:
                events.append(NewEvent(EVENT_EXITS_IMPORTED, import_id, {
                    "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
                    "households": exits}, actor))
                slots[-1] = (slots[-1][0], len(events) - 1)
        stored = await append(session, events)
        events_written += len(stored)
        for (imported_at, exits_at), (_, _, stubs) in zip(slots, batch_chunks):
            seq = stored[imported_at]["seq"]
            exit_seq = stored[exits_at]["seq"] if exits_at is not None else None
            for hid, reg_on, exit_on in stubs:
                status_rows.append((hid, seq, "registered", reg_on))
                if exit_on is not None:
                    status_rows.append((hid, exit_seq, "exited", exit_on))
        if progress is not None:
            progress("write", int(total * (0.8 + 0.15 * min(first + EVENTS_PER_APPEND, count) / count)), total)
    await conn.copy_records_to_table("household_status_history", records=status_rows, columns=_STATUS_COLUMNS)
    if progress is not None:
        progress("write", total, total)
    return households, persons, events_written




# -- the import --------------------------------------------------------------------------------

async def run_import(session, source: bytes | Path, *, filename: str, actor: dict, jurisdiction: str,
                     clock, progress: Progress | None = None) -> ImportResult:
    """Validate the whole file, then write it in the session's transaction (the caller commits).

    ``jurisdiction`` is the caller's division code (or prefix); every household's village must
    lie under it. Raises :class:`shared.errors.Unprocessable` with ``errors`` [{row, field,
    reason[, household]}] (at most :data:`MAX_ERRORS`) and ``total_errors`` when anything is
    wrong; nothing is written then. A person who became active in another household between the
    check and the write (a concurrent import) also ends in Unprocessable, and the caller must roll
    back.
    """
    with gc_paused():
        return await _run(session, source, filename=filename, actor=actor, jurisdiction=jurisdiction,
                          clock=clock, progress=progress)


async def _run(session, source: bytes | Path, *, filename: str, actor: dict, jurisdiction: str, clock,
               progress: Progress | None) -> ImportResult:
    jurisdiction_prefix = _prefix(jurisdiction)
    today = clock.today()
    # The first statement goes through SQLAlchemy so that the transaction is open (shared/db.py).
    await session.execute(text("SELECT 1"))
    async with raw_connection(session) as conn:
        lookups = _Lookups(conn)
        try:
            parsed = await asyncio.to_thread(
                parse_file, source, filename=filename, jurisdiction=jurisdiction, today=today, progress=progress,
                on_batch=lookups.submit_threadsafe(asyncio.get_running_loop()))
        finally:
            await lookups.finish()  # the answers to the batches submitted so far
        if progress is not None:
            progress("check", 0, 1)
        await _check_database(conn, parsed, lookups, jurisdiction_prefix)
        if progress is not None:
            progress("check", 1, 1)
        if len(parsed.errors):
            raise parsed.errors.problem()
        import_id = uuid7s(1)[0]
        try:
            households, persons, events = await _write(session, conn, parsed, import_id=import_id,
                                                       now=clock.now(), actor=dict(actor), progress=progress)
        except asyncpg.UniqueViolationError as exc:
            what = ("此人已被同时进行的另一登记占用 (a person was registered in another household meanwhile)"
                    if "persons" in (exc.constraint_name or "") else
                    "户编号已被同时进行的另一登记占用 (a household number was registered meanwhile)")
            raise Unprocessable(f"导入与另一登记冲突，未导入任何数据，请重试 (the import collided with a concurrent "
                                f"registration; nothing was imported, retry): {what}",
                                errors=[], total_errors=0) from None
    return ImportResult(import_id=import_id, households=households, persons=persons, events=events)


# -- the command line (``fupin registry import``) -----------------------------------------------

_PHASES = {"parse": "解析与校验 parse + validate", "check": "数据库核对 check database", "write": "写入 write"}


def cli_import(settings, path: Path, *, division: str, sub: str | None, show_errors: int = 50) -> int:
    """Import ``path`` with a progress bar; print the result or the bad rows. Returns the exit code."""
    import getpass
    import json
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

    from shared.clock import clock_from_env
    from shared.db import make_engine, make_sessionmaker

    console = Console(stderr=True, highlight=False)
    try:
        jurisdiction = divisions.normalize(division)
    except divisions.DivisionError as exc:
        print(f"--division: {exc}", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    actor = {"sub": sub or f"cli:{getpass.getuser()}", "roles": ["admin"], "division": jurisdiction}
    clock = clock_from_env(settings.clock)

    async def run(report: Progress) -> ImportResult:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            async with make_sessionmaker(engine, "registry", clock)() as session:
                async with session.begin():
                    return await run_import(session, path, filename=path.name, actor=actor,
                                            jurisdiction=jurisdiction, clock=clock, progress=report)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    with Bar(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             console=console) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                for other in tasks.values():  # an earlier phase is over
                    task = bar.tasks[other]
                    bar.update(other, completed=task.total if task.total is not None else task.completed)
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = asyncio.run(run(report))
        except Unprocessable as problem:
            bar.stop()
            errors = problem.extensions.get("errors") or []
            total = problem.extensions.get("total_errors", len(errors))
            print(problem.detail)
            for error in errors[:show_errors]:
                extra = f" [household {error['household']}]" if error.get("household") else ""
                print(f"  row {error['row']}, {error['field']}: {error['reason']}{extra}")
            shown = min(show_errors, len(errors))
            if total > shown:
                print(f"  … {total - shown} more; {total} error(s) in total")
            else:
                print(f"  {total} error(s) in total")
            return 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"import_id": result.import_id, "households": result.households,
                          "persons": result.persons, "events": result.events,
                          "seconds": round(elapsed, 2)}, ensure_ascii=False))
    print(f"imported {result.persons} persons in {result.households} households "
          f"({result.persons / elapsed:,.0f} persons/s)", file=sys.stderr)
    return 0

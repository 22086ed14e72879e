"""Validating an import file on its own, before anything is written: every row against the layout,
the code lists, GB 11643 ID numbers, division codes and the caller's jurisdiction, and each
household's rows against its first row. Every problem is collected with its row number, the
column's key and a bilingual reason (never a full ID number); nothing is raised before the whole
file has been read. Pure and CPU-bound: no database (``checks.py`` asks it afterwards).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from services.registry.usecases.imports.layout import (
    CAUSE_CODES_ALL,
    COLUMNS_BY_KEY,
    FIRST_YEAR,
    HEADERS,
    LAYOUT,
    ORDER,
    POVERTY_ATTRIBUTE_CODES_ALL,
    SCHOOL_PREFIXES,
    norm_header,
)
from services.registry.usecases.imports.reading import ID_FLOAT, cell, open_rows
from services.registry.usecases.imports.rows import Batch, Dec31, household_row, ids
from shared import divisions, idcard
from shared.errors import Unprocessable
from shared.fields import is_visible
from shared.masking import mask_personal_numbers
from shared.money import MoneyError, parse_yuan
from shared.web.boundary import forbidden_character

#: At most this many errors are returned (``total_errors`` counts them all).
MAX_ERRORS = 1000

Progress = Callable[[str, int, "int | None"], None]
"""``progress(phase, done, total)``: phase is ``parse``, ``check`` or ``write``; total may be None."""

OnBatch = Callable[[list[str], list[str], "Batch | None"], None]
"""``on_batch(id_numbers, household_numbers, rows)``: the valid ID numbers and household numbers
first met since the last call, and the COPY rows of those households and persons — None when the
file has an error so far (nothing of it will be written then)."""


# -- results and errors ------------------------------------------------------------------------

class Errors:
    """Collects (row, field, reason[, extra]) and renders them sorted, capped, without full IDs."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str, str, dict[str, Any] | None]] = []

    def add(self, row: int, key: str, reason: str, **extra: Any) -> None:
        self.items.append((row, ORDER.get(key, -1), key, reason, extra or None))

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


# -- the rows --------------------------------------------------------------------------



@dataclass
class Household:
    number: str
    first_row: int
    division: str
    poverty_attribute: str | None
    main_cause: str | None
    registered_year: int | None
    exit_year: int | None
    net_fen: int | None
    raw: tuple  # household-level values as compared across rows
    id: str = ""  # the new household's id
    #: [id, id_number, name, relation, sex, birth_date (ISO), ethnicity, education, school_stage, health,
    #: labour_capacity] of each person (``contract.MEMBER_FIELDS``, the event's member arrays)
    members: list[list] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    ok: bool = True  # household-level fields valid (division existence is checked later)


@dataclass
class Parsed:
    """What :func:`parse_file` found: households by number, errors so far, the file's digest."""

    file_sha256: str
    rows: int
    households: dict[str, Household]
    errors: Errors
    first_row_of_id: dict[str, int]  # valid ID number -> its (first) row


def _lookup(codes: Mapping[str, str], value: str) -> str | None:
    code = codes.get(value)
    if code is None:
        code = codes.get(value.lower())
    return code


def parse_file(source: bytes | Path, *, filename: str, jurisdiction: str, today: date,
               progress: Progress | None = None, on_batch: OnBatch | None = None,
               now: datetime | None = None) -> Parsed:
    """Read and validate the file on its own (no database). Pure and CPU-bound: run it in a thread.

    ``on_batch`` (:data:`OnBatch`) is handed the new valid ID numbers and household numbers every
    :data:`CHECK_BATCH` persons (and once at the end), so that the database can be asked about them
    — and, with ``now`` (the rows' ``created_at``), their rows written — while the rest of the file
    is parsed.
    """
    data = source.read_bytes() if isinstance(source, Path) else bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    rows, total, close, typed = open_rows(data, filename)
    try:
        return _parse_rows(iter(rows), digest, total, jurisdiction, today, progress, on_batch, now, xlsx=typed)
    finally:
        close()


def _find_header(rows: Iterator[Iterable[Any]]) -> tuple[int, dict[str, int], Errors]:
    errors = Errors()
    for number in range(1, 21):
        try:
            cells = [cell(v) for v in next(rows)]
        except StopIteration:
            break
        keys = [HEADERS.get(norm_header(c)) for c in cells]
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
            code = next((c for p, c in SCHOOL_PREFIXES if value.startswith(p)), None)
        if code is None:
            problems.append((key, _code_reason(key, value)))
        out.append(code or None)  # school_stage "" = not a student
    if long_ethnicity:
        problems.append(("ethnicity", "民族超过20个字符 (ethnicity is longer than 20 characters)"))
    return (*out, tuple(problems))


#: ID numbers per batch handed to the database checks while parsing goes on.
CHECK_BATCH = 50_000


def _parse_rows(rows: Iterator[Iterable[Any]], digest: str, total: int | None, jurisdiction: str,
                today: date, progress: Progress | None, on_batch: OnBatch | None, now: datetime | None, *,
                xlsx: bool) -> Parsed:
    """The row loop. Written for speed (it runs once per person): locals, one itemgetter per row,
    caches of birth dates and divisions, household-level values compared as raw strings first.

    Longer than the house's ~60 lines on purpose: the per-row checks work on the loop's locals and
    caches, and a call per check and row would cost a measurable share of the import's time
    (``bench/registry_import.py``, 1M persons); the household-level checks of a household's first
    row are already out of the loop (:func:`_new_household`), and so are the code cells
    (:func:`_person_codes`, cached per combination)."""
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
    jurisdiction_prefix = prefix_of(jurisdiction)
    this_year = today.year

    births: dict[str, tuple[date, str] | None] = {}  # YYYYMMDD -> (date, ISO text), None when impossible
    division_ok: dict[str, str | None] = {}  # code -> None (fine so far) or the reason
    households: dict[str, Household] = {}
    first_row_of_id: dict[str, int] = {}
    row_number = header_row
    report_every = 20_000
    new_ids: list[str] = []
    new_numbers: list[str] = []
    next_household_id, next_person_id = ids(), ids()
    # COPY rows, built only when they can be written as the parse goes on (``now`` given)
    batch = Batch() if now is not None and on_batch is not None else None
    dec31 = Dec31()

    for raw in rows:
        row_number += 1
        if progress is not None and row_number % report_every == 0:
            progress("parse", row_number, total)
        if xlsx:
            cells = [cell(v) for v in raw]
            if i_id < len(cells) and isinstance(raw[i_id], float):
                cells[i_id] = ID_FLOAT
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
        if (char := forbidden_character("".join(cells).replace(ID_FLOAT, ""))) is not None:
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
                        on_batch(new_ids, new_numbers, None if batch is None or errors.items else batch)
                        new_ids, new_numbers = [], []
                        if batch is not None:
                            batch = Batch()
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
            household.id = next_household_id()
            new_numbers.append(hh_number)
            if batch is not None and household.ok:
                batch.households.append(household_row(
                    household.id, hh_number, household.division, household.poverty_attribute, household.main_cause,
                    household.registered_year, household.exit_year, dec31, now))  # type: ignore[arg-type]
                if household.net_fen is not None:
                    batch.incomes.append((household.id, household.registered_year, household.net_fen))
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
            person_id = next_person_id()
            sex = "male" if number[16] in "13579" else "female"
            household.members.append([person_id, number, name, relation, sex, birth[1], ethnicity or None, education,
                                      school, health, labour])
            if batch is not None and household.ok:
                batch.persons.append((person_id, household.id, number, name, relation, sex, birth[0],
                                      ethnicity or None, education, school, health, labour, True))

    if on_batch is not None:
        on_batch(new_ids, new_numbers, None if batch is None or errors.items else batch)
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
    if number == ID_FLOAT:
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


def prefix_of(jurisdiction: str) -> str:
    if jurisdiction in ("", divisions.NATIONAL):
        return ""
    return divisions.prefix(jurisdiction)


def _year(value: str) -> int | None:
    if len(value) == 4 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _new_household(number: str, row: int, raw: tuple, attr_codes: Mapping[str, str], cause_codes: Mapping[str, str],
                   division_ok: dict[str, str | None], jurisdiction_prefix: str, this_year: int,
                   add: Callable[..., None]) -> Household:
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
    return Household(number, row, division, attr, cause, registered, exited, net_fen, raw, ok=ok)


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

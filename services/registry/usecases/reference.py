"""Reference data: administrative divisions (统计用区划代码) with their history, flags and rural population.

* :func:`parse_divisions_csv` / :func:`parse_division_items` — pure validation of a CSV text or a JSON list
  into :class:`DivisionRecord` s; every bad line or item is reported (with its line number), nothing is
  half-accepted: :class:`DivisionDataError` (a ``ValueError``) lists them all.
* :func:`load_divisions` — upsert into ``divisions`` with one ``registry.divisions.loaded`` event per call
  (split into parts of at most :data:`EVENT_CHUNK` records); records equal to the stored row are neither
  rewritten nor put in the event.
* :func:`flags_on` / :func:`name_on` — pure: the area flags and the name in force on a date.
* :func:`jinghe_reference` — loads the shipped 精河县 file (``data/divisions_652722.csv``) for the demo.

CSV layout (comment lines start with ``#``; the first other line is the header)::

    code,name,level,parent,valid_from,valid_to,aliases,flags,rural_population,population_year,synthetic

``aliases`` is JSON ``[{"name", "from", "to"}]`` (former or other names; ``to`` is the last day the
alias was the name), ``flags`` is JSON ``[{"flag", "from", "to", ...}]``; validity bounds are inclusive
and ``null`` means unbounded.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.contract import DIVISIONS_LOADED
from services.registry.models import Division
from shared import divisions
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.events.store import NewEvent, append
from shared.fields import is_visible
from shared.web import PageParams

__all__ = [
    "ALIAS_KEYS",
    "COLUMNS",
    "EVENT_CHUNK",
    "EVENT_TYPE",
    "FLAGS",
    "JINGHE_CSV",
    "DivisionDataError",
    "DivisionRecord",
    "LoadResult",
    "division_view",
    "flags_on",
    "jinghe_reference",
    "load_divisions",
    "name_on",
    "parse_division_items",
    "parse_divisions_csv",
]

EVENT_TYPE = DIVISIONS_LOADED
EVENT_CHUNK = 500
JINGHE_CSV = Path(__file__).resolve().parents[1] / "data" / "divisions_652722.csv"

COLUMNS = (
    "code", "name", "level", "parent", "valid_from", "valid_to", "aliases", "flags",
    "rural_population", "population_year", "synthetic",
)
_REQUIRED_COLUMNS = ("code", "name")

#: Allowed flags: name → (Chinese names accepted as input, levels it may be set on (None: any)).
FLAGS: dict[str, tuple[tuple[str, ...], frozenset[str] | None]] = {
    "poor_county": (("贫困县",), frozenset({"county"})),
    "key_county": (("国家扶贫开发工作重点县", "重点县"), frozenset({"county"})),
    "contiguous_area": (("集中连片特困地区", "片区"), None),  # needs "area": which 片区
    "deep_poverty": (("深度贫困县", "深度贫困村", "深度贫困地区"), None),
    "revolutionary_base": (("革命老区",), None),
    "ethnic_area": (("民族地区",), None),
    "border": (("边境", "边境县"), None),
    "poor_village": (("贫困村",), frozenset({"village"})),  # needs "class": 一类 | 二类
    "exited": (("摘帽", "出列"), frozenset({"county", "township", "village"})),  # needs "year"
}
_FLAG_BY_NAME = {name: name for name in FLAGS} | {zh: name for name, (zhs, _) in FLAGS.items() for zh in zhs}
_FLAG_EXTRA_KEYS = {"contiguous_area": "area", "poor_village": "class", "exited": "year"}
_FLAG_KEYS = frozenset({"flag", "from", "to", "area", "class", "year", "note"})
POOR_VILLAGE_CLASSES = ("一类", "二类")
ALIAS_KEYS = frozenset({"name", "from", "to", "note"})

_LEVELS = {lvl.value: lvl.value for lvl in divisions.Level if lvl is not divisions.Level.CENTRAL}
_LEVELS |= {"省": "province", "市": "city", "州": "city", "市(州)": "city", "县": "county",
            "乡镇": "township", "乡": "township", "镇": "township", "村": "village"}
_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否", ""}


class DivisionDataError(ValueError):
    """Division data that does not validate. ``errors``: [{line | item, field, reason}]."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        lines = [f"{_where(e)}: {e['field']}: {e['reason']}" for e in errors]
        super().__init__(f"区划数据有{len(errors)}处错误 (division data has {len(errors)} error(s)):\n" + "\n".join(lines))


def _where(error: Mapping[str, Any]) -> str:
    if "line" in error:
        return f"line {error['line']}"
    if "item" in error:
        return f"item {error['item']}"
    return "data"


@dataclass(frozen=True)
class DivisionRecord:
    """A validated division, in the shape of a ``divisions`` row (dates as ``date``)."""

    code: str
    name: str
    level: str
    parent: str | None
    valid_from: date | None = None
    valid_to: date | None = None
    aliases: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    rural_population: int | None = None
    population_year: int | None = None
    synthetic: bool = False

    def row(self) -> dict[str, Any]:
        """Column values for ``divisions``."""
        return asdict(self)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings): what goes into the event."""
        data = asdict(self)
        data["valid_from"] = _iso(self.valid_from)
        data["valid_to"] = _iso(self.valid_to)
        return data


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int
    events: int  # how many registry.divisions.loaded events were appended (0 when nothing changed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --------------------------------------------------------------------------------------------------
# validation (pure)


class _Errors:
    def __init__(self, where: dict[str, Any]):
        self.where, self.items = where, []

    def add(self, field_name: str, reason: str) -> None:
        self.items.append({**self.where, "field": field_name, "reason": reason})


def _date(value: Any, field_name: str, errors: _Errors) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(field_name, f"日期格式应为YYYY-MM-DD (date must be YYYY-MM-DD, got {value!r})")
    return None


def _int(value: Any, field_name: str, errors: _Errors, *, low: int, high: int | None = None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None:
        errors.add(field_name, f"应为整数 (must be an integer, got {value!r})")
        return None
    if number < low or (high is not None and number > high):
        bound = f"≥ {low}" if high is None else f"{low}–{high}"
        errors.add(field_name, f"超出范围 (must be {bound}, got {number})")
        return None
    return number


def _json_list(value: Any, field_name: str, errors: _Errors) -> list[Any] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            errors.add(field_name, f"JSON无效 (invalid JSON: {exc.msg} at char {exc.pos})")
            return None
    if not isinstance(value, list):
        errors.add(field_name, "应为JSON数组 (must be a JSON array)")
        return None
    return value


def _bounds(item: Mapping[str, Any], field_name: str, errors: _Errors) -> tuple[str | None, str | None]:
    start = _date(item.get("from"), f"{field_name}.from", errors)
    end = _date(item.get("to"), f"{field_name}.to", errors)
    if start and end and start > end:
        errors.add(field_name, f"起始日期晚于终止日期 (from {start} is after to {end})")
    return _iso(start), _iso(end)


def _aliases(raw: Any, errors: _Errors) -> list[dict[str, Any]]:
    items = _json_list(raw, "aliases", errors)
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items or []):
        where = f"aliases[{i}]"
        if not isinstance(item, dict):
            errors.add(where, "应为对象 {name, from, to} (must be an object {name, from, to})")
            continue
        unknown = sorted(set(item) - ALIAS_KEYS)
        if unknown:
            errors.add(where, f"未知字段 (unknown keys {unknown}; allowed {sorted(ALIAS_KEYS)})")
        name = item.get("name")
        if not isinstance(name, str) or not is_visible(name):
            errors.add(f"{where}.name", "别名不能为空 (alias name is required)")
            continue
        start, end = _bounds(item, where, errors)
        alias: dict[str, Any] = {"name": name.strip(), "from": start, "to": end}
        if item.get("note") is not None:
            alias["note"] = str(item["note"])
        out.append(alias)
    return out


def _flags(raw: Any, level: str | None, errors: _Errors) -> list[dict[str, Any]]:
    items = _json_list(raw, "flags", errors)
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items or []):
        where = f"flags[{i}]"
        if not isinstance(item, dict):
            errors.add(where, "应为对象 {flag, from, to} (must be an object {flag, from, to})")
            continue
        unknown = sorted(set(item) - _FLAG_KEYS)
        if unknown:
            errors.add(where, f"未知字段 (unknown keys {unknown}; allowed {sorted(_FLAG_KEYS)})")
        given = item.get("flag")
        name = _FLAG_BY_NAME.get(given.strip()) if isinstance(given, str) else None
        if name is None:
            errors.add(f"{where}.flag", f"未知标识 (unknown flag {given!r}; allowed {sorted(FLAGS)})")
            continue
        levels = FLAGS[name][1]
        if level is not None and levels is not None and level not in levels:
            errors.add(f"{where}.flag", f"{name} 不适用于 {level} 级 (flag {name} applies to {sorted(levels)} only)")
        flag: dict[str, Any] = {"flag": name}
        if name == "contiguous_area":
            area = item.get("area")
            if not isinstance(area, str) or not area.strip():
                errors.add(f"{where}.area", "集中连片特困地区须注明片区 (contiguous_area needs the area's name)")
            else:
                flag["area"] = area.strip()
        if name == "poor_village":
            klass = item.get("class")
            if klass not in POOR_VILLAGE_CLASSES:
                errors.add(f"{where}.class",
                           f"贫困村类别应为一类或二类 (poor_village class must be one of {list(POOR_VILLAGE_CLASSES)}, "
                           f"got {klass!r})")
            else:
                flag["class"] = klass
        if name == "exited":
            year = _int(item.get("year"), f"{where}.year", errors, low=1980, high=2100)
            if year is None and item.get("year") in (None, ""):
                errors.add(f"{where}.year", "摘帽/出列须注明年度 (exited needs its year)")
            elif year is not None:
                flag["year"] = year
        for key in ("area", "class", "year"):
            if key in item and _FLAG_EXTRA_KEYS.get(name) != key:
                errors.add(f"{where}.{key}", f"{name} 没有 {key} 字段 (flag {name} takes no {key!r})")
        start, end = _bounds(item, where, errors)
        flag["from"], flag["to"] = start, end
        if item.get("note") is not None:
            flag["note"] = str(item["note"])
        out.append(flag)
    return out


def _bool(value: Any, errors: _Errors) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors.add("synthetic", f"应为 true/false (must be true or false, got {value!r})")
    return False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _record(raw: Mapping[str, Any], where: dict[str, Any]) -> tuple[DivisionRecord | None, list[dict[str, Any]]]:
    """Validate one division given as a mapping of column → value (CSV strings or JSON values)."""
    errors = _Errors(where)
    code_text, code, lvl = _text(raw.get("code")), None, None
    if code_text is None:
        errors.add("code", "区划代码不能为空 (code is required)")
    else:
        try:
            code = divisions.normalize(code_text)
            lvl = divisions.level(code).value
            if code == divisions.NATIONAL:
                errors.add("code", "全国代码不是区划 (000000000000 is the national level, not a division)")
                code = lvl = None
        except divisions.DivisionError as exc:
            errors.add("code", str(exc))
    name = _text(raw.get("name"))
    if name is None or not is_visible(name):
        errors.add("name", "名称不能为空 (name is required)")
    elif len(name) > 100:
        errors.add("name", "名称过长 (name longer than 100 characters)")

    level_text = _text(raw.get("level"))
    if level_text is not None:
        given = _LEVELS.get(level_text.lower()) or _LEVELS.get(level_text)
        if given is None:
            errors.add("level", f"未知级别 (unknown level {level_text!r}; one of {sorted(set(_LEVELS.values()))})")
        elif lvl is not None and given != lvl:
            errors.add("level", f"级别与代码不符 (level {given} does not match code {code}, which is a {lvl})")

    parent = divisions.parent(code) if code else None
    parent_text = _text(raw.get("parent"))
    if parent_text is not None and code is not None:
        try:
            given_parent = divisions.normalize(parent_text)
        except divisions.DivisionError as exc:
            errors.add("parent", str(exc))
        else:
            if given_parent == code or not divisions.within(code, given_parent):
                errors.add("parent", f"上级代码与代码不符 (parent {given_parent} is not above {code})")
            else:
                parent = given_parent

    valid_from = _date(raw.get("valid_from"), "valid_from", errors)
    valid_to = _date(raw.get("valid_to"), "valid_to", errors)
    if valid_from and valid_to and valid_from > valid_to:
        errors.add("valid_to", f"有效期终止早于起始 (valid_to {valid_to} is before valid_from {valid_from})")
    aliases = _aliases(raw.get("aliases"), errors)
    flags = _flags(raw.get("flags"), lvl, errors)
    rural = _int(raw.get("rural_population"), "rural_population", errors, low=0)
    year = _int(raw.get("population_year"), "population_year", errors, low=1949, high=2100)
    if rural is not None and year is None and "population_year" not in {e["field"] for e in errors.items}:
        errors.add("population_year", "农村人口须注明年度 (rural_population needs its population_year)")
    synthetic = _bool(raw.get("synthetic"), errors)
    if errors.items:
        return None, errors.items
    return DivisionRecord(
        code=code, name=name, level=lvl, parent=parent, valid_from=valid_from, valid_to=valid_to,
        aliases=aliases, flags=flags, rural_population=rural, population_year=year, synthetic=synthetic,
    ), []


def _duplicates(records: list[tuple[dict[str, Any], DivisionRecord]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    errors = []
    for where, record in records:
        if record.code in seen:
            first = _where(seen[record.code])
            errors.append({**where, "field": "code", "reason": f"代码重复 (code {record.code} already at {first})"})
        else:
            seen[record.code] = where
    return errors


def _physical_lines(text: str, numbers: list[int]) -> Iterator[str]:
    """The non-comment lines of ``text``; ``numbers`` receives each yielded line's 1-based number."""
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        numbers.append(number)
        yield line


def parse_divisions_csv(text: str) -> list[DivisionRecord]:
    """Validate a divisions CSV (see the module docstring); raises :class:`DivisionDataError`.

    Errors carry the physical line number in ``text`` (comment lines counted).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    numbers: list[int] = []
    reader = csv.reader(_physical_lines(text, numbers), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DivisionDataError([{"line": 1, "field": "header", "reason": "文件为空 (no header line)"}]) from None
    except csv.Error as exc:
        raise DivisionDataError([{"line": numbers[-1] if numbers else 1, "field": "csv", "reason": str(exc)}]) from None
    header_line = numbers[0]
    columns = [c.strip().lower() for c in header]
    header_errors = []
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        header_errors.append(f"未知列 (unknown columns {unknown}; allowed {list(COLUMNS)})")
    missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
    if missing:
        header_errors.append(f"缺少列 (missing columns {missing})")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        header_errors.append(f"列重复 (repeated columns {repeated})")
    if header_errors:
        raise DivisionDataError([{"line": header_line, "field": "header", "reason": r} for r in header_errors])

    errors: list[dict[str, Any]] = []
    good: list[tuple[dict[str, Any], DivisionRecord]] = []
    consumed = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = numbers[consumed] if consumed < len(numbers) else numbers[-1]
            errors.append({"line": line, "field": "csv", "reason": f"CSV格式错误 (malformed CSV: {exc})"})
            break
        line = numbers[consumed]
        consumed = reader.line_num
        where = {"line": line}
        if len(row) != len(columns):
            errors.append({**where, "field": "row",
                           "reason": f"列数不符 (expected {len(columns)} fields, got {len(row)})"})
            continue
        record, row_errors = _record(dict(zip(columns, row)), where)
        if record is None:
            errors.extend(row_errors)
        else:
            good.append((where, record))
    errors.extend(_duplicates(good))
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise DivisionDataError(errors)
    return [record for _, record in good]


def parse_division_items(items: Any) -> list[DivisionRecord]:
    """Validate a JSON list of division objects (keys as the CSV columns; aliases/flags as arrays).

    Errors name the item by its 0-based index.
    """
    if not isinstance(items, list):
        raise DivisionDataError([{"field": "body", "reason": "应为JSON数组 (must be a JSON array of divisions)"}])
    errors: list[dict[str, Any]] = []
    good: list[tuple[dict[str, Any], DivisionRecord]] = []
    for index, item in enumerate(items):
        where = {"item": index}
        if not isinstance(item, dict):
            errors.append({**where, "field": "item", "reason": "应为对象 (must be an object)"})
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            errors.append({**where, "field": "item", "reason": f"未知字段 (unknown keys {unknown}; allowed {list(COLUMNS)})"})
        record, item_errors = _record(item, where)
        if record is None:
            errors.extend(item_errors)
        elif not unknown:
            good.append((where, record))
    errors.extend(_duplicates(good))
    if errors:
        errors.sort(key=lambda e: e["item"])
        raise DivisionDataError(errors)
    return [record for _, record in good]


# --------------------------------------------------------------------------------------------------
# in force on a date (pure)


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _in_force(item: Mapping[str, Any], on: date, default_start: date | None = None) -> bool:
    start = _as_date(item.get("from")) or default_start
    end = _as_date(item.get("to"))
    return (start is None or start <= on) and (end is None or on <= end)


def flags_on(division_row: Any, on: date) -> list[dict[str, Any]]:
    """The division's flags in force on ``on`` (bounds inclusive, ``null`` unbounded).

    An ``exited`` (摘帽/出列) flag without ``from`` counts from 1 January of its ``year``. Flags are
    the division's own: those of the units above it (e.g. a 片区 set on the county) are not inherited.
    ``division_row`` is a :class:`Division`, a :class:`DivisionRecord` or a mapping with ``flags``.
    """
    result = []
    for flag in _get(division_row, "flags") or []:
        default = date(int(flag["year"]), 1, 1) if flag.get("flag") == "exited" and flag.get("year") else None
        if _in_force(flag, on, default):
            result.append(dict(flag))
    return result


def name_on(division_row: Any, on: date) -> str:
    """The name in force on ``on``: an alias whose bounds contain the date, else the current name.

    An alias with neither ``from`` nor ``to`` is only another name (e.g. a transliteration) and never
    replaces the current name.
    """
    return divisions.name_on(_get(division_row, "name"), _get(division_row, "aliases"), on)


def division_view(row: Any, on: date | None = None) -> dict[str, Any]:
    """The JSON shape of a division; with ``on``: also its name, flags and validity on that date."""
    view = {
        "code": _get(row, "code"), "name": _get(row, "name"), "level": _get(row, "level"),
        "parent": _get(row, "parent"),
        "valid_from": _iso(_as_date(_get(row, "valid_from"))), "valid_to": _iso(_as_date(_get(row, "valid_to"))),
        "aliases": list(_get(row, "aliases") or []), "flags": list(_get(row, "flags") or []),
        "rural_population": _get(row, "rural_population"), "population_year": _get(row, "population_year"),
        "synthetic": bool(_get(row, "synthetic")),
    }
    if on is not None:
        start, end = _as_date(_get(row, "valid_from")), _as_date(_get(row, "valid_to"))
        view["as_of"] = {
            "date": on.isoformat(),
            "name": name_on(row, on),
            "flags": flags_on(row, on),
            "existed": (start is None or start <= on) and (end is None or on <= end),
        }
    return view


# --------------------------------------------------------------------------------------------------
# loading


_COMPARED = ("name", "level", "parent", "valid_from", "valid_to", "aliases", "flags",
             "rural_population", "population_year", "synthetic")


def _stored(row: Mapping[str, Any]) -> dict[str, Any]:
    stored = {key: row[key] for key in _COMPARED}
    stored["aliases"] = stored["aliases"] or []
    stored["flags"] = stored["flags"] or []
    stored["synthetic"] = bool(stored["synthetic"])
    return stored


def _common_ancestor(codes: Iterable[str]) -> str:
    """The lowest division whose jurisdiction covers every code (``NATIONAL`` if none smaller)."""
    codes = list(codes)
    common = codes[0]
    for code in codes[1:]:
        n = 0
        while n < len(common) and common[n] == code[n]:
            n += 1
        common = common[:n]
    for cut in (12, 9, 6, 4, 2):
        if len(common) >= cut:
            candidate = common[:cut].ljust(12, "0")
            try:
                if all(divisions.within(code, candidate) for code in codes):
                    return divisions.normalize(candidate)
            except divisions.DivisionError:
                continue
    return divisions.NATIONAL


async def _stored_and_parents_known(session: AsyncSession, records: list[DivisionRecord]) -> dict[str, dict[str, Any]]:
    """The stored rows of ``records`` by code, once no code repeats and every parent is in
    ``records`` or stored (:class:`DivisionDataError` otherwise)."""
    table = Division.__table__
    codes = [r.code for r in records]
    dupes = sorted({c for c in codes if codes.count(c) > 1}) if len(set(codes)) != len(codes) else []
    if dupes:
        raise DivisionDataError([{"field": "code", "reason": f"代码重复 (repeated codes {dupes})"}])
    existing = {
        row["code"]: _stored(row)
        for row in (await session.execute(sa.select(table).where(table.c.code.in_(codes)))).mappings()
    }
    wanted_parents = {r.parent for r in records if r.parent and r.parent != divisions.NATIONAL} - set(codes)
    if wanted_parents:
        found = set((await session.execute(
            sa.select(table.c.code).where(table.c.code.in_(sorted(wanted_parents))))).scalars())
        missing = wanted_parents - found
        if missing:
            raise DivisionDataError([
                {"field": "parent",
                 "reason": f"上级区划不存在 (parent {p} of {', '.join(r.code for r in records if r.parent == p)} is not loaded)"}
                for p in sorted(missing)
            ])
    return existing


def _loaded_events(created: list[DivisionRecord], updated: list[DivisionRecord], unchanged: int,
                   actor: Mapping[str, Any]) -> list[NewEvent]:
    """The ``registry.divisions.loaded`` events of a load: the changed records by code, at most
    :data:`EVENT_CHUNK` per event."""
    changed = [(r, "created") for r in created] + [(r, "updated") for r in updated]
    changed.sort(key=lambda pair: pair[0].code)
    parts = [changed[i:i + EVENT_CHUNK] for i in range(0, len(changed), EVENT_CHUNK)]
    return [
        NewEvent(
            type=EVENT_TYPE,
            subject=_common_ancestor(r.code for r, _ in part),
            data={
                "records": [{**r.as_json(), "change": change} for r, change in part],
                "created": len(created), "updated": len(updated), "unchanged": unchanged,
                "part": number, "parts": len(parts),
            },
            actor=dict(actor),
        )
        for number, part in enumerate(parts, start=1)
    ]


async def load_divisions(session: AsyncSession, records: Sequence[DivisionRecord], *,
                         actor: Mapping[str, Any]) -> LoadResult:
    """Upsert ``records`` into ``divisions`` inside the caller's transaction (no commit).

    A record equal to the stored row is left alone. The created and updated records go into
    ``registry.divisions.loaded`` events of at most :data:`EVENT_CHUNK` records each (data:
    ``{records: [...], created, updated, unchanged, part, parts}``; each record carries
    ``change``: created | updated); nothing changed → no event.

    Every record's parent must be in ``records`` or already stored (provinces' parent is
    ``NATIONAL``); otherwise, or on a repeated code, :class:`DivisionDataError` and nothing is written.
    """
    records = list(records)
    if not records:
        return LoadResult(0, 0, 0, 0)
    table = Division.__table__
    existing = await _stored_and_parents_known(session, records)

    created: list[DivisionRecord] = []
    updated: list[DivisionRecord] = []
    for record in records:
        stored = existing.get(record.code)
        if stored is None:
            created.append(record)
        elif stored != {key: getattr(record, key) for key in _COMPARED}:
            updated.append(record)
    unchanged = len(records) - len(created) - len(updated)

    if created:
        for start in range(0, len(created), 1000):
            await session.execute(sa.insert(table), [r.row() for r in created[start:start + 1000]])
    if updated:
        statement = (
            sa.update(table).where(table.c.code == sa.bindparam("b_code"))
            .values({key: sa.bindparam(f"v_{key}", type_=table.c[key].type) for key in _COMPARED})
        )
        await session.execute(statement, [{"b_code": r.code, **{f"v_{k}": getattr(r, k) for k in _COMPARED}}
                                          for r in updated])

    events = _loaded_events(created, updated, unchanged, actor)
    await append(session, events)
    return LoadResult(created=len(created), updated=len(updated), unchanged=unchanged, events=len(events))


async def jinghe_reference(session: AsyncSession, actor: Mapping[str, Any]) -> LoadResult:
    """Load the shipped 精河县 reference file (:data:`JINGHE_CSV`) — the demo's divisions."""
    records = parse_divisions_csv(JINGHE_CSV.read_text(encoding="utf-8"))
    return await load_divisions(session, records, actor=actor)


async def load_within(session: AsyncSession, principal: Principal, records: Sequence[DivisionRecord]) -> LoadResult:
    """Load the records, all of which lie in the caller's jurisdiction (403 naming the others)."""
    outside = [r.code for r in records if not principal.covers(r.code)]
    if outside:
        raise Forbidden(
            f"区划不在管辖范围内 (divisions outside your jurisdiction {principal.division}: {', '.join(outside[:10])}"
            f"{' …' if len(outside) > 10 else ''})"
        )
    return await load_divisions(session, records, actor=principal.actor())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_divisions(session: AsyncSession, params: PageParams, *, parent: str | None, level: str | None,
                         q: str | None, on: date | None) -> dict[str, Any]:
    """Divisions by code, cursor-paginated: the children of ``parent``, of a ``level``, matching ``q``
    (a code prefix, or part of the name or of an alias); with ``on``, each as of that date."""
    table = Division.__table__
    query = sa.select(table)
    if parent is not None:
        query = query.where(table.c.parent == parent)
    if level is not None:
        query = query.where(table.c.level == level)
    if q:
        text = q.strip()
        pattern = f"%{_escape_like(text)}%"
        alias_match = sa.exists(
            sa.select(sa.literal(1))
            .select_from(sa.func.jsonb_array_elements(table.c.aliases).table_valued("value").alias("a"))
            .where(sa.literal_column("a.value ->> 'name'").ilike(pattern, escape="\\"))
        )
        conditions = [table.c.name.ilike(pattern, escape="\\"), alias_match]
        if text.isdigit() and text.isascii():
            conditions.append(table.c.code.startswith(text, autoescape=True))
        query = query.where(sa.or_(*conditions))
    if params.cursor:
        query = query.where(table.c.code > str(params.cursor[0]))
    rows = (await session.execute(query.order_by(table.c.code).limit(params.limit + 1))).mappings().all()
    page = params.page(rows, key_of=lambda r: [r["code"]])
    return {"items": [division_view(r, on) for r in page.items], "next_cursor": page.next_cursor}


async def read_division(session: AsyncSession, code: str, on: date) -> dict[str, Any]:
    """One division (a 2/4/6/9/12-digit code) as of ``on``."""
    try:
        code = divisions.normalize(code)
    except divisions.DivisionError as exc:
        raise Unprocessable(str(exc), errors=[{"field": "path.code", "reason": str(exc)}]) from None
    table = Division.__table__
    row = (await session.execute(sa.select(table).where(table.c.code == code))).mappings().first()
    if row is None:
        raise NotFound(f"区划不存在 (no division {code})")
    return division_view(row, on)


"""Use case of a department's list upload (民政 a month's 低保 list, 教育 a term's students, 卫健
serious illnesses …): one row per person — the ID number and the department's own fields.

Guarantees:

1. **Validated first, all or nothing.** Every row is checked — the ID number well formed, an
   active person in the uploader's jurisdiction, listed once, each value valid for the
   department's model (the one ``PUT /persons/{id}/departments/{dept}`` uses) — and every bad
   row is named (row as in the file, column, reason; ID numbers masked). One bad row: nothing
   is written.
2. **Idempotent by content** (``uploads.once_per_content``): the same file again returns the
   first result; every upload, refused ones too, is in the import history.
3. Written with one ``registry.department_list.imported`` event per :data:`CHUNK` rows in the
   same transaction; each person's data is applied as a single update would apply it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import uuid6
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from services.registry import files
from services.registry.usecases import uploads
from services.registry.usecases.assistance import DEPARTMENT_FIELDS, apply_department_data
from services.registry.models import Household, Person
from shared import idcard
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.events import NewEvent, append

EVENT = "registry.department_list.imported"
CHUNK = 500
MAX_ERRORS = 1000
ID_HEADERS = {"证件号码", "身份证号码", "身份证号", "公民身份号码", "id_number"}
#: Chinese column headers of each department's fields (the English field names work too).
HEADERS = {
    "civil_affairs": {"低保": "dibao", "特困": "tekun", "特困供养": "tekun"},
    "education": {"在校阶段": "school_stage", "在校生状况": "school_stage", "辍学": "dropout"},
    "health": {"大病": "major_illness", "患大病": "major_illness", "病种": "illness"},
    "human_resources": {"就业": "employed", "务工地点": "place", "务工月数": "months", "公益岗位": "public_welfare_post"},
    "disabled_persons": {"残疾等级": "disability_grade"},
}
_YES, _NO = {"是", "有", "yes", "true", "1", "y"}, {"否", "无", "no", "false", "0", "n"}


def template_headers(dept: str) -> list[str]:
    chinese = {field: header for header, field in reversed(list(HEADERS[dept].items()))}
    return ["证件号码", *(chinese.get(f, f) for f in DEPARTMENT_FIELDS[dept].model_fields)]


def _rows(filename: str, data: bytes) -> list[list[Any]]:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return list(files.csv_rows(data)[0])
    if suffix in (".xls", ".xlsx"):
        return files.sheet_rows(data)[0]
    raise Unprocessable("不支持的文件类型，应为 .csv、.xls 或 .xlsx (use .csv, .xls or .xlsx)",
                        errors=[{"row": 0, "field": "file", "reason": "expected .csv, .xls or .xlsx"}], total_errors=1)


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell).strip()


def _value(model: type[BaseModel], field: str, cell: str) -> Any:
    if cell == "":
        return None
    annotation = str(model.model_fields[field].annotation)
    if "bool" in annotation:
        lowered = cell.lower()
        return True if lowered in _YES else False if lowered in _NO else cell
    return cell


class _Errors(list):
    def add(self, row: int, field: str, reason: str) -> None:
        self.append({"row": row, "field": field, "reason": reason})


def _header(rows: list[list[Any]], dept: str, errors: _Errors) -> dict[str, int]:
    names = {**HEADERS[dept], **{f: f for f in DEPARTMENT_FIELDS[dept].model_fields}}
    columns: dict[str, int] = {}
    for index, cell in enumerate(rows[0] if rows else []):
        text = _text(cell).replace(" ", "")
        if text in ID_HEADERS:
            columns["id_number"] = index
        elif text in names:
            columns[names[text]] = index
    if "id_number" not in columns:
        errors.add(1, "id_number", "表头缺少证件号码 (no ID-number column in the header row)")
    return columns


def parse(rows: list[list[Any]], dept: str) -> tuple[dict[str, tuple[int, dict[str, Any]]], _Errors]:
    """ID number → (row, validated values); the errors of the file on its own."""
    model, errors = DEPARTMENT_FIELDS[dept], _Errors()
    columns = _header(rows, dept, errors)
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, raw in enumerate(rows[1:], start=2):
        cells = {key: _text(raw[i]) if i < len(raw) else "" for key, i in columns.items()}
        if not any(cells.values()):
            continue
        try:
            id_number = idcard.parse(cells.pop("id_number", "")).number
        except ValueError as exc:
            errors.add(number, "id_number", str(exc))  # the reason never repeats the number
            continue
        if id_number in parsed:
            errors.add(number, "id_number", f"与第{parsed[id_number][0]}行重复 (listed again; first on row "
                                            f"{parsed[id_number][0]})")
            continue
        values = {f: v for f, cell in cells.items() if (v := _value(model, f, cell)) is not None}
        try:
            parsed[id_number] = (number, model.model_validate(values).model_dump())
        except ValidationError as exc:
            for problem in exc.errors():
                errors.add(number, ".".join(map(str, problem["loc"])) or "row", problem["msg"])
    return parsed, errors


async def _persons(session, principal: Principal, numbers: Iterable[str]) -> dict[str, Person]:
    found = (await session.execute(
        select(Person, Household.division).join(Household, Household.id == Person.household_id)
        .where(Person.active, Person.id_number.in_(list(numbers))).with_for_update(of=Person))).all()
    return {p.id_number: p for p, division in found if principal.covers(division)}


async def import_list(session, sessionmaker, principal: Principal, dept: str, *, filename: str, data: bytes,
                      clock) -> dict[str, Any]:
    async def work() -> tuple[str, dict[str, Any]]:
        parsed, errors = parse(_rows(filename, data), dept)
        persons = await _persons(session, principal, parsed)
        for number, (row, _) in parsed.items():
            if number not in persons:
                errors.add(row, "id_number", f"{idcard.mask(number)}不是您辖区内的在册人员 (not an active person in "
                                             "your jurisdiction)")
        if errors or not parsed:
            errors = errors or _Errors([{"row": 0, "field": "file", "reason": "no rows"}])
            raise Unprocessable(f"名单有{len(errors)}处错误，未导入任何数据 (the list has {len(errors)} error(s); nothing "
                                "was imported)", errors=sorted(errors, key=lambda e: e["row"])[:MAX_ERRORS],
                                total_errors=len(errors))
        import_id = str(uuid6.uuid7())
        items = sorted(parsed.items(), key=lambda item: item[1][0])
        for number, (_, values) in items:
            apply_department_data(persons[number], dept, values)
        await append(session, [NewEvent(EVENT, import_id, {
            "import_id": import_id, "dept": dept, "part": part,
            "rows": [{"person_id": str(persons[n].id), **values} for n, (_, values) in items[i:i + CHUNK]]},
            principal.actor()) for part, i in enumerate(range(0, len(items), CHUNK))])
        return import_id, {"dept": dept, "persons": len(items)}

    return await uploads.once_per_content(session, sessionmaker, principal, kind=f"department:{dept}",
                                          filename=filename, data=data, clock=clock, work=work)

"""Bulk import of 建档立卡 spreadsheets (issue 4, "Bulk import"): valid CSV and XLSX files land with
their events; a file with any bad row imports nothing and lists every bad row; jurisdiction; the
HTTP upload; the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime

import asyncpg
import openpyxl
import pytest
from services.registry.app import create_app
from services.registry.usecases.imports import validation
from services.registry.usecases.imports import EVENT_EXITS_IMPORTED, EVENT_IMPORTED, households_of, run_import
from shared.clock import SettableClock
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.errors import Unprocessable
from shared.events import store
from shared.idcard import make_id
from tests.conftest import bearer, run_cli, serving

VILLAGE_A, VILLAGE_B = "652722101201", "652722101202"  # 精河县 (synthetic village codes)
VILLAGE_ELSEWHERE = "652723100201"  # 温泉县: outside 652722
TOWNSHIP = "652722101000"
ACTOR = {"sub": "test-importer", "roles": ["county_office"], "division": "652722000000"}
HEADER = ["户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "民族", "文化程度", "在校生状况",
          "健康状况", "劳动技能", "贫困户属性", "主要致贫原因", "识别年度", "脱贫年度", "人均纯收入"]


def pid(serial: int, born: date = date(1970, 3, 15), region: str = "652722") -> str:
    return make_id(region, born, serial)


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def person(household: str, id_number: str, relation: str = "户主", *, division: str = VILLAGE_A,
           name: str = "张三", attribute: str = "一般贫困户", cause: str = "因病", registered: str = "2014",
           exited: str = "", income: str = "", labour: str = "普通劳动力", education: str = "小学",
           school: str = "非在校生", health: str = "健康") -> list[str]:
    return [household, division, name, id_number, relation, "汉族", education, school, health, labour,
            attribute, cause, registered, exited, income]


def csv_bytes(rows: list[list[str]], *, bom: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[list], *, title: str | None = None, header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.create_sheet("说明").append(["this sheet is ignored"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
async def registry(databases):
    settings = await databases.new("registry")
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        await conn.executemany(
            "INSERT INTO divisions (code, name, level, parent, synthetic) VALUES ($1, $2, $3, $4, true)",
            [("652722000000", "精河县", "county", "652700000000"),
             (TOWNSHIP, "测试镇", "township", "652722000000"),
             (VILLAGE_A, "一村", "village", TOWNSHIP),
             (VILLAGE_B, "二村", "village", TOWNSHIP),
             ("652723000000", "温泉县", "county", "652700000000"),
             (VILLAGE_ELSEWHERE, "温泉一村", "village", "652723100000")])
    finally:
        await conn.close()
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    clock = SettableClock(datetime(2024, 6, 30, 4, tzinfo=UTC))
    yield settings, make_sessionmaker(engine, "registry", clock), clock
    await engine.dispose()


async def connect(settings) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))


async def do_import(sessions, clock, data: bytes, filename: str = "households.csv", jurisdiction: str = "652722"):
    async with sessions() as session, session.begin():
        return await run_import(session, data, filename=filename, actor=ACTOR, jurisdiction=jurisdiction, clock=clock)


async def import_errors(sessions, clock, data: bytes, filename: str = "households.csv",
                        jurisdiction: str = "652722") -> Unprocessable:
    with pytest.raises(Unprocessable) as info:
        await do_import(sessions, clock, data, filename, jurisdiction)
    return info.value


def valid_rows(offset: int = 0) -> list[list[str]]:
    """Three households, six persons: one with income, one exited in 2017, one in village B."""
    n = offset
    return [
        person(f"H{n + 1:05d}", pid(n + 1), "户主", name="王一", income="2800.50"),
        person(f"H{n + 1:05d}", pid(n + 2, date(1972, 8, 1)), "配偶", name="李二", income="2800.50",
               labour="弱劳动力或半劳动力", health="长期慢性病"),
        person(f"H{n + 2:05d}", pid(n + 3), "户主", name="赵三", attribute="低保贫困户", cause="lack_labour",
               registered="2015", exited="2017"),
        person(f"H{n + 2:05d}", pid(n + 4, date(2008, 1, 2)), "子女", name="赵四", attribute="低保贫困户",
               cause="缺劳力", registered="2015", exited="2017", labour="无劳动能力", school="初中二年级"),
        person(f"H{n + 2:05d}", pid(n + 5, date(1940, 2, 29)), "父母", name="赵五", attribute="dibao",
               cause="缺劳力", registered="2015", exited="2017", labour="丧失劳动力", education="文盲或半文盲"),
        person(f"H{n + 3:05d}", pid(n + 6), "户主", division=VILLAGE_B, name="钱六", attribute="特困供养贫困户",
               cause="因残", health="残疾", labour="no_labour"),
    ]


async def assert_valid_rows_landed(settings, offset: int = 0, actor: dict = ACTOR) -> None:
    n = offset
    conn = await connect(settings)
    try:
        households = {r["number"]: r for r in await conn.fetch("SELECT * FROM households")}
        assert set(households) == {f"H{n + 1:05d}", f"H{n + 2:05d}", f"H{n + 3:05d}"}
        first, exited, third = (households[f"H{n + i:05d}"] for i in (1, 2, 3))
        assert (first["status"], first["division"], first["poverty_attribute"], first["main_cause"]) == (
            "registered", VILLAGE_A, "general", "illness")
        assert first["registered_year"] == 2014 and first["registered_on"] == date(2014, 12, 31)
        assert (exited["status"], exited["main_cause"], exited["poverty_attribute"]) == ("exited", "lack_labour", "dibao")
        assert exited["exited_on"] == date(2017, 12, 31)
        assert (third["division"], third["poverty_attribute"], third["main_cause"]) == (VILLAGE_B, "tekun", "disability")

        persons = {r["id_number"]: r for r in await conn.fetch("SELECT * FROM persons")}
        assert len(persons) == 6 and all(p["active"] for p in persons.values())
        head = persons[pid(n + 1)]
        assert (head["name"], head["relation"], head["sex"], head["birth_date"]) == ("王一", "head", "male", date(1970, 3, 15))
        assert head["household_id"] == first["id"] and head["education"] == "primary" and head["school_stage"] is None
        spouse = persons[pid(n + 2, date(1972, 8, 1))]
        assert (spouse["relation"], spouse["sex"], spouse["labour_capacity"], spouse["health"]) == (
            "spouse", "female", "weak_labour", "chronic")
        child = persons[pid(n + 4, date(2008, 1, 2))]
        assert (child["relation"], child["school_stage"], child["labour_capacity"]) == (
            "child", "junior_secondary", "no_labour_ability")
        elder = persons[pid(n + 5, date(1940, 2, 29))]
        assert (elder["relation"], elder["education"], elder["birth_date"]) == ("parent", "illiterate", date(1940, 2, 29))

        incomes = await conn.fetch("SELECT * FROM household_incomes")
        assert [(r["household_id"], r["year"], r["net_per_capita_fen"]) for r in incomes] == [(first["id"], 2014, 280050)]

        history = await conn.fetch("SELECT h.number, s.seq, s.status, s.effective_on FROM household_status_history s "
                                   "JOIN households h ON h.id = s.household_id ORDER BY h.number, s.effective_on")
        assert [(r["number"], r["status"], r["effective_on"]) for r in history] == [
            (f"H{n + 1:05d}", "registered", date(2014, 12, 31)),
            (f"H{n + 2:05d}", "registered", date(2015, 12, 31)),
            (f"H{n + 2:05d}", "exited", date(2017, 12, 31)),
            (f"H{n + 3:05d}", "registered", date(2014, 12, 31)),
        ]

        events = [e for e in await store.read_after(conn, 0, 100) if e["type"] != "registry.import.recorded"]
        assert [e["type"] for e in events] == [EVENT_IMPORTED, EVENT_EXITS_IMPORTED]
        imported, exits = events
        assert imported["subject"] == exits["subject"] == imported["data"]["import_id"]
        assert imported["actor"] == actor
        assert imported["data"]["chunk"] == 1 and len(imported["data"]["file_sha256"]) == 64
        by_number = {h["number"]: h for h in households_of(imported["data"])}
        assert by_number[f"H{n + 1:05d}"]["net_per_capita_fen"] == 280050
        assert by_number[f"H{n + 1:05d}"]["id"] == str(first["id"])
        assert by_number[f"H{n + 2:05d}"]["exited_on"] == "2017-12-31"
        assert by_number[f"H{n + 3:05d}"]["net_per_capita_fen"] is None
        members = {m["id_number"]: m for h in by_number.values() for m in h["members"]}
        assert set(members) == set(persons)
        assert members[pid(n + 1)] == {
            "id": str(head["id"]), "id_number": pid(n + 1), "name": "王一", "relation": "head", "sex": "male",
            "birth_date": "1970-03-15", "ethnicity": "汉族", "education": "primary", "school_stage": None,
            "health": "healthy", "labour_capacity": "normal_labour"}
        assert [h["number"] for h in exits["data"]["households"]] == [f"H{n + 2:05d}"]
        seqs = {(r["number"], r["status"]): r["seq"] for r in history}
        assert seqs[(f"H{n + 1:05d}", "registered")] == imported["seq"]
        assert seqs[(f"H{n + 2:05d}", "exited")] == exits["seq"]
        report = await store.verify(conn)
        assert report.ok and report.checked >= 2  # the uploads' history records are events too
    finally:
        await conn.close()


async def test_a_valid_csv_imports_households_persons_status_and_events(registry):
    settings, sessions, clock = registry
    result = await do_import(sessions, clock, csv_bytes(valid_rows()))
    assert (result.households, result.persons, result.events) == (3, 6, 2)
    await assert_valid_rows_landed(settings)


async def test_a_valid_xlsx_with_a_title_row_number_cells_and_english_headers_imports(registry):
    settings, sessions, clock = registry
    header = ["household_number", "行政区划代码", "姓名", "身份证号码", "与户主关系", "民族", "文化程度",
              "在校生状况", "健康状况", "劳动技能", "贫困户属性", "main_cause", "识别年度", "脱贫年度", "人均纯收入（元）"]
    rows: list[list] = [row[:] for row in valid_rows()]
    for row in rows:
        row[1] = int(row[1])  # a division typed as a number
        row[12] = int(row[12])
        row[13] = int(row[13]) if row[13] else None
        row[14] = float(row[14]) if row[14] else None  # 2800.5 in a number cell
    data = xlsx_bytes(rows, title="精河县建档立卡贫困人口信息表", header=header)
    result = await do_import(sessions, clock, data, filename="精河县.XLSX")
    assert (result.households, result.persons) == (3, 6)
    await assert_valid_rows_landed(settings)


async def test_a_csv_without_bom_and_more_than_one_chunk(registry):
    settings, sessions, clock = registry
    rows = [person(f"B{i:04d}", pid(i % 1000, date(1960 + i // 1000, 1, 1)), name=f"人{i}") for i in range(450)]
    result = await do_import(sessions, clock, csv_bytes(rows, bom=False))
    assert (result.households, result.persons, result.events) == (450, 450, 3)
    conn = await connect(settings)
    try:
        events = await store.read_after(conn, 0, 10)
        assert [len(e["data"]["households"]) for e in events] == [200, 200, 50]
        assert [e["data"]["chunk"] for e in events] == [1, 2, 3] and {e["data"]["chunks"] for e in events} == {3}
        assert await conn.fetchval("SELECT count(*) FROM household_status_history") == 450
        assert (await store.verify(conn)).ok
    finally:
        await conn.close()


@pytest.mark.parametrize("overlap", [True, False], ids=["pipeline", "sequential"])
async def test_a_file_checked_and_written_in_small_batches_lands_whole(registry, monkeypatch, overlap):
    """Batches of two persons: a household's rows far apart in the file (its spouse in the last
    batch) still land under it. With the pipeline every row is copied while the file is parsed (the
    write stage starts with all persons written); the sequential path writes nothing before the
    checks have passed."""
    settings, sessions, clock = registry
    monkeypatch.setattr(validation, "CHECK_BATCH", 2)
    rows = valid_rows()
    rows.append(rows.pop(1))  # H00001's spouse last
    seen: list[tuple[str, int, int | None]] = []
    async with sessions() as session, session.begin():
        result = await run_import(session, csv_bytes(rows), filename="households.csv", actor=ACTOR,
                                  jurisdiction="652722", clock=clock, overlap=overlap,
                                  progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert (result.households, result.persons, result.events) == (3, 6, 2)
    first_write = next(done for phase, done, _ in seen if phase == "write")
    assert first_write == (6 if overlap else 0)
    await assert_valid_rows_landed(settings)


async def test_an_error_late_in_the_file_leaves_nothing_of_the_batches_already_written(registry, monkeypatch):
    settings, sessions, clock = registry
    monkeypatch.setattr(validation, "CHECK_BATCH", 2)
    rows = valid_rows() + [person("L001", pid(300)), person("L002", pid(301), cause="因懒")]
    problem = await import_errors(sessions, clock, csv_bytes(rows))
    assert [(e["row"], e["field"]) for e in problem.body()["errors"]] == [(9, "main_cause")]
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM households") == 0
        assert await conn.fetchval("SELECT count(*) FROM persons") == 0
        assert await conn.fetchval("SELECT count(*) FROM events") == 0
    finally:
        await conn.close()
    await do_import(sessions, clock, csv_bytes(valid_rows()))  # the session is usable again
    await assert_valid_rows_landed(settings)


async def test_conflicts_with_the_database_in_a_later_batch_are_reported_per_row(registry, monkeypatch):
    """A person already active and a household number already registered, both met after earlier
    batches were written: each is an error on its row (the COPY never meets the unique indexes),
    and nothing of the file stays."""
    settings, sessions, clock = registry
    taken = pid(900)
    await do_import(sessions, clock, csv_bytes([person("OLD001", taken, name="旧户主")]))
    monkeypatch.setattr(validation, "CHECK_BATCH", 2)
    rows = valid_rows() + [person("M001", pid(400)), person("M001", taken, "配偶"), person("OLD001", pid(401))]
    problem = await import_errors(sessions, clock, csv_bytes(rows))
    errors = {(e["row"], e["field"]): e for e in problem.body()["errors"]}
    assert set(errors) == {(9, "id_number"), (10, "household_number")}
    assert errors[(9, "id_number")]["household"] == "OLD001"
    assert "already registered" in errors[(10, "household_number")]["reason"]
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM households") == 1
        assert await conn.fetchval("SELECT count(*) FROM persons") == 1
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await conn.close()


async def test_a_person_registered_by_a_concurrent_transaction_is_reported_on_its_row(registry, monkeypatch):
    """Another transaction holds an uncommitted active person the file also lists: the pipeline's
    COPY waits for it (or meets it committed); once it commits, the person is an error on its row,
    not an aborted transaction, and nothing of the file stays."""
    settings, sessions, clock = registry
    await do_import(sessions, clock, csv_bytes([person("OLD001", pid(900), name="旧户主")]))
    monkeypatch.setattr(validation, "CHECK_BATCH", 2)
    contested = pid(500)
    other = await connect(settings)
    try:
        household = await other.fetchval("SELECT id FROM households WHERE number = 'OLD001'")
        transaction = other.transaction()
        await transaction.start()
        await other.execute(
            "INSERT INTO persons (id, household_id, id_number, name, relation, sex, birth_date, labour_capacity, "
            "active) VALUES (gen_random_uuid(), $1, $2, '李四', 'child', 'male', '1970-03-15', 'normal_labour', true)",
            household, contested)

        async def commit_soon() -> None:
            await asyncio.sleep(0.5)
            await transaction.commit()

        rows = valid_rows() + [person("M001", pid(501)), person("M001", contested, "配偶")]
        committing = asyncio.ensure_future(commit_soon())
        problem = await import_errors(sessions, clock, csv_bytes(rows))
        await committing
    finally:
        await other.close()
    errors = problem.body()["errors"]
    assert [(e["row"], e["field"], e.get("household")) for e in errors] == [(9, "id_number", "OLD001")]
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM persons") == 2
        assert await conn.fetchval("SELECT count(*) FROM households") == 1
    finally:
        await conn.close()


@pytest.mark.parametrize("overlap", [True, False], ids=["pipeline", "sequential"])
async def test_a_registered_household_number_alone_in_a_later_batch_is_reported_on_its_row(registry, monkeypatch,
                                                                                           overlap):
    settings, sessions, clock = registry
    await do_import(sessions, clock, csv_bytes([person("OLD001", pid(900), name="旧户主")]))
    monkeypatch.setattr(validation, "CHECK_BATCH", 2)
    rows = valid_rows() + [person("OLD001", pid(401)), person("M002", pid(402))]
    async with sessions() as session:
        with pytest.raises(Unprocessable) as info:
            async with session.begin():
                await run_import(session, csv_bytes(rows), filename="households.csv", actor=ACTOR,
                                 jurisdiction="652722", clock=clock, overlap=overlap)
    assert [(e["row"], e["field"]) for e in info.value.body()["errors"]] == [(8, "household_number")]
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM persons") == 1
    finally:
        await conn.close()


async def test_a_file_with_bad_rows_imports_nothing_and_lists_every_bad_row(registry):
    settings, sessions, clock = registry
    taken = pid(900)
    await do_import(sessions, clock, csv_bytes([person("OLD001", taken, name="旧户主")]))

    good, duplicate = pid(101), pid(102)
    rows = [
        person("N001", good),                                                       # 2 good
        person("N001", bad_check_digit(pid(103)), "配偶"),                          # 3 bad check digit
        person("N001", good, "子女"),                                               # 4 duplicate of row 2
        person("N002", taken),                                                      # 5 already in OLD001
        person("N003", pid(104), division="652722101299"),                          # 6 unknown division
        person("N004", pid(105), "配偶"),                                           # 7 no head
        person("N005", pid(106)),                                                   # 8 good
        person("N005", pid(107)),                                                   # 9 second head
        person("N006", pid(108)),                                                   # 10 good
        person("N006", pid(109), "子女", cause="因灾"),                             # 11 inconsistent cause
        person("N007", pid(110), cause="因懒"),                                     # 12 unknown cause
        person("N008", pid(111), registered="2015", exited="2013"),                 # 13 exit before registration
        person("N009", pid(112), income="12.345"),                                  # 14 bad money
        person("N010", pid(113), labour="半个劳力"),                                # 15 unknown labour code
        person("N011", pid(114), division=TOWNSHIP),                                # 16 not a village
        person("N012", duplicate),                                                  # 17 good
        person("N013", duplicate),                                                  # 18 duplicate of row 17
        person("N014", "65272219700315001"),                                        # 19 17 characters
    ]
    data = csv_bytes(rows)
    problem = await import_errors(sessions, clock, data)

    body = problem.body()
    pairs = {(e["row"], e["field"]) for e in body["errors"]}
    assert pairs == {
        (3, "id_number"), (4, "id_number"), (5, "id_number"), (6, "division"), (7, "relation"),
        (9, "relation"), (11, "main_cause"), (12, "main_cause"), (13, "exit_year"), (14, "net_income"),
        (15, "labour_capacity"), (16, "division"), (18, "id_number"), (19, "id_number"),
    }
    assert body["total_errors"] == len(body["errors"]) == 14 and body["truncated"] is False
    assert body["status"] == 422
    reasons = {(e["row"], e["field"]): e for e in body["errors"]}
    assert "check digit" in reasons[(3, "id_number")]["reason"]
    assert "row 2" in reasons[(4, "id_number")]["reason"] and "row 17" in reasons[(18, "id_number")]["reason"]
    assert reasons[(5, "id_number")]["household"] == "OLD001"
    assert "OLD001" not in reasons[(5, "id_number")]["reason"]
    assert "not in the divisions table" in reasons[(6, "division")]["reason"]
    assert "no head" in reasons[(7, "relation")]["reason"] and "row 8" in reasons[(9, "relation")]["reason"]
    assert "row 10" in reasons[(11, "main_cause")]["reason"] and "因懒" in reasons[(12, "main_cause")]["reason"]
    assert "before registered_year" in reasons[(13, "exit_year")]["reason"]
    assert "not a village" in reasons[(16, "division")]["reason"]
    assert [e["row"] for e in body["errors"]] == sorted(e["row"] for e in body["errors"])

    text = json.dumps(body, ensure_ascii=False)
    for row in rows:
        assert row[3] not in text, "a full ID number leaked into the errors"
    assert "652722********" in text  # the masked form is how a person is named

    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM households") == 1
        assert await conn.fetchval("SELECT count(*) FROM persons") == 1
        assert await conn.fetchval("SELECT count(*) FROM household_status_history") == 1
        assert await conn.fetchval("SELECT count(*) FROM events") == 1  # only the first import's
    finally:
        await conn.close()


async def test_the_error_list_is_capped_but_counted(registry):
    _, sessions, clock = registry
    rows = [person(f"C{i:05d}", pid(i % 1000, date(1950 + i // 1000, 1, 1)), cause="因懒") for i in range(1200)]
    problem = await import_errors(sessions, clock, csv_bytes(rows))
    body = problem.body()
    assert len(body["errors"]) == 1000 and body["total_errors"] == 1200 and body["truncated"] is True


async def test_villages_outside_the_jurisdiction_are_refused(registry):
    settings, sessions, clock = registry
    rows = [person("J001", pid(1)), person("J002", pid(2), division=VILLAGE_ELSEWHERE)]
    problem = await import_errors(sessions, clock, csv_bytes(rows), jurisdiction="652722")
    assert [(e["row"], e["field"]) for e in problem.body()["errors"]] == [(3, "division")]
    assert "outside your jurisdiction" in problem.body()["errors"][0]["reason"]
    # a township's jurisdiction is narrower still; the whole prefecture's covers both counties
    problem = await import_errors(sessions, clock, csv_bytes([person("J003", pid(3), division=VILLAGE_B)]),
                                  jurisdiction="652722102000")
    assert [(e["row"], e["field"]) for e in problem.body()["errors"]] == [(2, "division")]
    result = await do_import(sessions, clock, csv_bytes(rows), jurisdiction="652700000000")
    assert result.households == 2
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM persons") == 2
    finally:
        await conn.close()


async def test_a_person_active_outside_the_jurisdiction_is_refused_without_naming_the_household(registry):
    _, sessions, clock = registry
    elsewhere = pid(5, region="652723")
    await do_import(sessions, clock, csv_bytes([person("W001", elsewhere, division=VILLAGE_ELSEWHERE)]),
                    jurisdiction="652723")
    problem = await import_errors(sessions, clock, csv_bytes([person("K001", elsewhere)]), jurisdiction="652722")
    [error] = problem.body()["errors"]
    assert (error["row"], error["field"], error["household"]) == (2, "id_number", None)
    assert "W001" not in json.dumps(problem.body(), ensure_ascii=False)


async def test_structural_problems_are_reported(registry):
    _, sessions, clock = registry
    missing = "户编号,姓名,证件号码\nH1,张三,{}\n".format(pid(1)).encode()
    problem = await import_errors(sessions, clock, missing)
    assert {e["field"] for e in problem.body()["errors"]} >= {"division", "relation", "labour_capacity", "main_cause"}
    problem = await import_errors(sessions, clock, b"a,b\n1,2\n")
    assert problem.body()["errors"][0]["field"] == "file"
    problem = await import_errors(sessions, clock, b"\xff\xff\xfe\x80,\x80\xff\n")  # no encoding decodes it
    assert "encoding" in problem.detail and problem.body()["errors"][0]["field"] == "file"
    problem = await import_errors(sessions, clock, b"whatever", filename="households.xls")
    assert problem.body()["errors"][0]["field"] == "file" and "spreadsheet" in problem.detail
    problem = await import_errors(sessions, clock, b"whatever", filename="households.ods")
    assert ".csv, .xls or .xlsx" in problem.detail
    problem = await import_errors(sessions, clock, csv_bytes([]))
    assert problem.body()["errors"][0]["reason"].startswith("文件中没有数据行")
    # an ID number in a number cell of a spreadsheet has lost its digits
    rows: list[list] = [person("X1", pid(1))]
    rows[0][3] = float(rows[0][3][:15] + "000")
    problem = await import_errors(sessions, clock, xlsx_bytes(rows), filename="x.xlsx")
    assert [(e["row"], e["field"]) for e in problem.body()["errors"]] == [(2, "id_number")]
    assert "stored as text" in problem.body()["errors"][0]["reason"]


async def test_http_upload_imports_once_and_refuses_the_same_persons_again(registry):
    settings, _, _ = registry
    data = csv_bytes(valid_rows())
    files = {"file": ("精河县.csv", data, "text/csv")}
    # a retry resends the same bytes: the same multipart boundary (the key is bound to the body's hash)
    county = {**bearer(settings, "county_office", "652722"),
              "Content-Type": "multipart/form-data; boundary=fupin-import-test-boundary"}
    async with serving(create_app(settings)) as client:
        village = await client.post("/imports", files=files,
                                    headers={**bearer(settings, "village", VILLAGE_A), "Idempotency-Key": "v-1"})
        assert village.status_code == 403
        other_county = await client.post("/imports", files=files,
                                         headers={**bearer(settings, "county_office", "652723"), "Idempotency-Key": "o-1"})
        assert other_county.status_code == 422
        assert {(e["row"], e["field"]) for e in other_county.json()["errors"]} == {(2, "division"), (4, "division"),
                                                                                    (7, "division")}

        first = await client.post("/imports", files=files, headers={**county, "Idempotency-Key": "import-1"})
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["households"], body["persons"]) == (3, 6) and body["import_id"]
        replay = await client.post("/imports", files=files, headers={**county, "Idempotency-Key": "import-1"})
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == body

        same_content = await client.post("/imports", files=files, headers={**county, "Idempotency-Key": "import-2"})
        assert same_content.json()["replayed"] is True and same_content.json()["import_id"] == body["import_id"]
        # the same persons in another file (no BOM): every one refused
        files = {"file": ("精河县.csv", csv_bytes(valid_rows(), bom=False), "text/csv")}
        again = await client.post("/imports", files=files, headers={**county, "Idempotency-Key": "import-3"})
        assert again.status_code == 422
        assert again.headers["content-type"] == "application/problem+json"
        problem = again.json()
        assert {(e["row"], e["field"]) for e in problem["errors"]} == (
            {(row, "id_number") for row in range(2, 8)} | {(2, "household_number"), (4, "household_number"),
                                                           (7, "household_number")})
        assert {e.get("household") for e in problem["errors"] if e["field"] == "id_number"} == {
            "H00001", "H00002", "H00003"}
        for row in valid_rows():
            assert row[3] not in again.text

        missing_key = await client.post("/imports", files=files, headers=county)
        assert missing_key.status_code == 422
        openapi = (await client.get("/openapi.json")).json()
        operation = openapi["paths"]["/imports"]["post"]
        assert "批量导入" in operation["summary"] and "户编号" in operation["description"]
    await assert_valid_rows_landed(settings, actor={**ACTOR, "sub": "test-county_office"})


async def test_cli_imports_a_file_and_exits_1_listing_the_bad_rows(registry, tmp_path):
    settings, _, _ = registry
    env = {"FUPIN_DATABASE_URL": settings.database_url, "FUPIN_REGISTRY_DATABASE": settings.database_name,
           "FUPIN_LOG_LEVEL": "WARNING"}
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(valid_rows()))
    code, output = await run_cli("registry", "import", str(good), "--division", "652722", "--sub", "cli-test",
                                 env=env)
    assert code == 0, output
    assert '"households": 3' in output and '"persons": 6' in output

    bad = tmp_path / "bad.xlsx"
    rows = valid_rows(offset=10)
    rows[1][3] = bad_check_digit(rows[1][3])
    rows[5][1] = VILLAGE_ELSEWHERE
    bad.write_bytes(xlsx_bytes(rows))
    code, output = await run_cli("registry", "import", str(bad), "--division", "652722", env=env)
    assert code == 1, output
    assert "row 3, id_number" in output and "row 7, division" in output and "2 error(s) in total" in output
    assert rows[1][3] not in output

    code, output = await run_cli("registry", "import", str(good), "--division", "652722", env=env)
    assert code == 1 and "6 more" not in output and "9 error(s) in total" in output
    conn = await connect(settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM persons") == 6
        events = await store.read_after(conn, 0, 10)
        assert {e["actor"]["sub"] for e in events} == {"cli-test"}
        assert (await store.verify(conn)).ok
    finally:
        await conn.close()


async def test_optional_columns_may_be_left_out_and_extra_columns_are_ignored(registry):
    settings, sessions, clock = registry
    header = ["序号", "户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "劳动技能", "贫困户属性",
              "主要致贫原因", "识别年度", "联系电话"]
    lines = [header, ["1", "M1", VILLAGE_A, "孙一", pid(1), "户主", "普通劳动力",
                      "一般贫困户", "缺资金", "2016", "13800000000"],
             ["", "", "", "", "", "", "", "", "", "", ""],  # a blank row is skipped (row 3)
             ["2", "M1", VILLAGE_A, "孙二", pid(2, date(1995, 5, 5)), "Child", "技能劳动力", "一般贫困户", "缺资金",
              "2016", ""]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    result = await do_import(sessions, clock, buffer.getvalue().encode())
    assert (result.households, result.persons) == (1, 2)
    conn = await connect(settings)
    try:
        rows = await conn.fetch("SELECT name, relation, ethnicity, education, labour_capacity FROM persons ORDER BY name")
        assert [tuple(r) for r in rows] == [("孙一", "head", None, None, "normal_labour"),
                                            ("孙二", "child", None, None, "skilled_labour")]
        assert await conn.fetchval("SELECT main_cause FROM households") == "lack_funds"
        assert await conn.fetchval("SELECT count(*) FROM household_incomes") == 0
    finally:
        await conn.close()


async def test_one_index_on_id_numbers_allows_many_left_households_and_one_active(registry):
    """Migration 0008: ``persons_one_active_household`` on (id_number, NULLIF(active, false)) is still
    "at most one active household per person" and serves the look-up by ID number."""
    settings, sessions, clock = registry
    number = pid(700)
    await do_import(sessions, clock, csv_bytes([person("U001", number), person("U002", pid(701))]))
    conn = await connect(settings)
    try:
        other = await conn.fetchval("SELECT id FROM households WHERE number = 'U002'")
        insert = ("INSERT INTO persons (id, household_id, id_number, name, relation, sex, birth_date, labour_capacity, "
                  "active) VALUES (gen_random_uuid(), $1, $2, '张三', 'child', 'male', '1970-03-15', 'normal_labour', $3)")
        await conn.execute(insert, other, number, False)
        await conn.execute(insert, other, number, False)  # left two households: no collision
        with pytest.raises(asyncpg.UniqueViolationError) as info:
            await conn.execute(insert, other, number, True)  # a second active household
        assert info.value.constraint_name == "persons_one_active_household"
        indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'persons'")}
        assert "ix_persons_id_number" not in indexes
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN SELECT * FROM persons WHERE id_number = $1", number))
        assert "persons_one_active_household" in plan
    finally:
        await conn.close()

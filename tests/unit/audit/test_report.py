"""The report's three forms: JSON, CSV and the self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from services.audit import report
from services.audit.compliance import Finding
from shared.policy.citations import SEED_TITLES
from services.audit.run import AuditResult
from services.audit.verify import ChainResult

HASH = "a13812345678" + "0" * 52  # hex that a phone filter could take for a mobile number
FINDING = Finding("household.helper.required", "seed 004 L63; DOMAIN.md §3", "每个贫困户都有帮扶责任人", "652722102201",
                  "household 6527221022010001", "2018-06-30", "no 帮扶责任人 (户主 652722198001014352)", "registry", 12)


def result() -> dict:
    return AuditResult(
        as_of=date(2018, 6, 30), division="652722", source="export /tmp/x",
        chains=[ChainResult("funds", checked=3, first_seq=1, last_seq=3, last_hash=HASH)], reference_problems=[],
        discrepancies=[], findings=[FINDING],
        rebuilt={}, figures={"money_flows": [{"operation": "allocate", "label": "资金下达", "channel": "central_special",
                                              "channel_label": "中央财政专项扶贫资金", "postings": 2, "amount_fen": 150000,
                                              "amount": "1500.00"}],
                             "balances_by_kind": [{"kind": "available", "label": "可用资金", "amount_fen": 5, "amount": "0.05"}]},
        notes=["a note"], generated_at="2018-07-01T02:00:00.000000Z", compared=True).as_dict()


def test_json_keeps_the_hashes_and_masks_id_numbers_in_free_text():
    body = json.loads(report.to_json(result()))
    assert body["chains"][0]["last_hash"] == HASH
    assert body["findings"][0]["detail"] == "no 帮扶责任人 (户主 652722********4352)"
    assert body["summary"]["findings_by_rule"] == {"household.helper.required": 1}


def test_csv_has_one_row_per_finding_with_its_rule_and_citation():
    text = report.to_csv(result())
    assert text.startswith("\ufeff")  # Excel on a Chinese Windows reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [(r["类别"], r["规则或类型"], r["依据"], r["事件序号"]) for r in rows] == [
        ("合规问题", "household.helper.required", SEED_TITLES["004"], "12")]  # the plan, not the seed file


def test_the_html_page_is_self_contained_with_charts_and_no_id_number():
    page = report.to_html(result())
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script" not in page
    assert "household.helper.required" in page and "资金下达" in page and "1500.00" in page
    assert "652722198001014352" not in page and 'src="http' not in page and "<link" not in page


def test_write_report_writes_the_three_files(tmp_path):
    paths = report.write_report(result(), tmp_path, "r")
    assert sorted(p.name for p in paths.values()) == ["r.csv", "r.html", "r.json"]

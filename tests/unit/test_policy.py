"""shared.policy: the rule table, its loader and calendar arithmetic (pure, no database)."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml

from shared.policy import (
    SHIPPED_RULES,
    NoRuleError,
    PolicyError,
    PolicyTable,
    Rule,
    add_days,
    add_months,
    deadline,
    holidays_for,
    is_working_day,
    load_policy,
    load_rules_file,
    parse_rules,
)
from tests.seeds import SEEDS, seeds


JINGHE_VILLAGE = "652722101001"  # 精河县, a village code under 652722
XINJIANG_OTHER = "650102001001"  # 乌鲁木齐 (65), not 精河
SHANXI_VILLAGE = "140121100200"
HEBEI_VILLAGE = "130721100200"


def rule(rule_id="x.y", jurisdiction="", start=date(2014, 1, 1), end=None, value=1, **kw) -> Rule:
    return Rule(rule_id, jurisdiction, start, end, value, kw.get("citation", "test"), kw.get("title", "t"))


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def policy() -> PolicyTable:
    return load_policy()


# --------------------------------------------------------------------------------------------
# Rule and PolicyTable
# --------------------------------------------------------------------------------------------


def test_most_specific_jurisdiction_wins():
    table = PolicyTable(
        [
            rule(jurisdiction="", value="national"),
            rule(jurisdiction="652722", value="jinghe"),
            rule(jurisdiction="65", value="xinjiang"),
        ]
    )
    day = date(2017, 3, 1)
    assert table.value("x.y", JINGHE_VILLAGE, day) == "jinghe"
    assert table.value("x.y", "652722", day) == "jinghe"
    assert table.value("x.y", XINJIANG_OTHER, day) == "xinjiang"
    assert table.value("x.y", SHANXI_VILLAGE, day) == "national"
    assert table.value("x.y", "", day) == "national"


def test_rule_under_14_does_not_apply_to_65():
    table = PolicyTable([rule(jurisdiction="14", value="shanxi")])
    assert table.value("x.y", SHANXI_VILLAGE, date(2015, 1, 1)) == "shanxi"
    with pytest.raises(NoRuleError):
        table.lookup("x.y", JINGHE_VILLAGE, date(2015, 1, 1))
    assert not rule(jurisdiction="14").covers(JINGHE_VILLAGE)
    assert rule(jurisdiction="").covers(JINGHE_VILLAGE)


def test_effective_dates_before_after_and_inclusive_end():
    r = rule(start=date(2017, 1, 1), end=date(2017, 12, 31))
    assert not r.applies_on(date(2016, 12, 31))
    assert r.applies_on(date(2017, 1, 1))
    assert r.applies_on(date(2017, 12, 31))  # inclusive end
    assert not r.applies_on(date(2018, 1, 1))
    assert rule(start=date(2017, 1, 1), end=None).applies_on(date(2099, 1, 1))

    table = PolicyTable([r, rule(start=date(2018, 1, 1), end=None, value=2)])
    assert table.value("x.y", "65", date(2017, 12, 31)) == 1
    assert table.value("x.y", "65", date(2018, 1, 1)) == 2
    with pytest.raises(NoRuleError):
        table.lookup("x.y", "65", date(2016, 6, 1))


def test_specific_rule_out_of_force_falls_back_to_general():
    table = PolicyTable(
        [rule(value="national"), rule(jurisdiction="652722", start=date(2016, 1, 1), end=date(2016, 12, 31), value="j")]
    )
    assert table.value("x.y", JINGHE_VILLAGE, date(2016, 7, 1)) == "j"
    assert table.value("x.y", JINGHE_VILLAGE, date(2017, 7, 1)) == "national"


def test_no_rule_error_names_rule_division_and_date():
    table = PolicyTable([rule(jurisdiction="14")])
    with pytest.raises(NoRuleError) as info:
        table.lookup("x.y", JINGHE_VILLAGE, date(2017, 5, 2))
    message = str(info.value)
    assert "'x.y'" in message and JINGHE_VILLAGE in message and "2017-05-02" in message
    assert isinstance(info.value, LookupError)
    assert (info.value.rule_id, info.value.division, info.value.on) == ("x.y", JINGHE_VILLAGE, date(2017, 5, 2))
    with pytest.raises(NoRuleError, match="no rule with this id"):
        table.lookup("no.such_rule", JINGHE_VILLAGE, date(2017, 5, 2))


def test_all_and_ids():
    table = PolicyTable([rule("b.x"), rule("a.x", jurisdiction="65"), rule("a.x")])
    assert [(r.id, r.jurisdiction) for r in table.all()] == [("a.x", ""), ("a.x", "65"), ("b.x", "")]
    assert [r.jurisdiction for r in table.all("a.x")] == ["", "65"]
    assert table.all("zzz.z") == []
    assert table.ids() == ["a.x", "b.x"] and len(table) == 3 and "a.x" in table


def test_rule_as_dict_is_json_ready():
    import json

    r = rule(value={"holidays": [date(2016, 1, 1)], "amount_fen": 5}, end=date(2016, 12, 31))
    d = r.as_dict()
    assert d["effective_to"] == "2016-12-31" and d["value"]["holidays"] == ["2016-01-01"]
    json.dumps(d)


# --------------------------------------------------------------------------------------------
# loading and overriding
# --------------------------------------------------------------------------------------------


def test_override_file_replaces_shipped_rule_and_adds_new(tmp_path):
    override = write(
        tmp_path,
        "deploy.yaml",
        """\
        - id: announcement.min_period
          jurisdiction: ""
          effective_from: 2014-01-01
          effective_to: null
          value: {days: 7, unit: calendar}
          citation: "deployment test"
          title: replaced
        - id: announcement.min_period
          jurisdiction: "65"
          effective_from: 2018-01-01
          value: {days: 5, unit: working}
          citation: "deployment test 65"
          title: added
        - id: deployment.only_rule
          jurisdiction: "652722"
          effective_from: 2020-01-01
          value: {limit_fen: 100}
          citation: "deployment test"
          title: new id
        """,
    )
    shipped = load_policy()
    table = load_policy([override])
    day = date(2019, 3, 1)
    assert shipped.value("announcement.min_period", JINGHE_VILLAGE, day) == {"days": 10, "unit": "calendar"}
    assert table.value("announcement.min_period", SHANXI_VILLAGE, day) == {"days": 7, "unit": "calendar"}
    assert table.lookup("announcement.min_period", SHANXI_VILLAGE, day).citation == "deployment test"
    assert table.value("announcement.min_period", JINGHE_VILLAGE, day) == {"days": 5, "unit": "working"}
    assert table.value("deployment.only_rule", JINGHE_VILLAGE, date(2020, 1, 1)) == {"limit_fen": 100}
    # replaced, not duplicated
    assert len(table.all("announcement.min_period")) == 2
    assert len(table) == len(shipped) + 2
    # the shipped table is untouched by the override and by mutation of a returned value
    assert load_policy().value("announcement.min_period", SHANXI_VILLAGE, day)["days"] == 10
    table.value("household.exit.income_standard", JINGHE_VILLAGE, date(2017, 1, 1))["per_capita_income_fen"] = 0
    assert load_policy().value("household.exit.income_standard", JINGHE_VILLAGE, date(2017, 1, 1))[
        "per_capita_income_fen"
    ] == 333500


def test_later_override_file_wins_and_can_close_a_rule(tmp_path):
    first = write(
        tmp_path,
        "a.yaml",
        """\
        - {id: household.review.interval, jurisdiction: "14", effective_from: 2014-01-01,
           value: {years: 2}, citation: a, title: a}
        """,
    )
    second = write(
        tmp_path,
        "b.yaml",
        """\
        - {id: household.review.interval, jurisdiction: "14", effective_from: 2014-01-01,
           effective_to: 2015-12-31, value: {years: 3}, citation: "seed 004 L19", title: closed}
        """,
    )
    table = load_policy([first, second])
    assert table.value("household.review.interval", SHANXI_VILLAGE, date(2015, 6, 1)) == {"years": 3}
    # after the Shanxi rule is closed the national one applies again
    assert table.value("household.review.interval", SHANXI_VILLAGE, date(2016, 6, 1)) == {"years": 1}


def test_empty_override_file_is_allowed(tmp_path):
    assert len(load_policy([write(tmp_path, "empty.yaml", "# nothing\n")])) == len(load_policy())


GOOD = {
    "id": "a.b",
    "jurisdiction": "",
    "effective_from": "2016-01-01",
    "effective_to": None,
    "value": {"days": 10},
    "citation": "x",
    "title": "t",
}


def _entry(**changes):
    entry = dict(GOOD)
    for key, val in changes.items():
        if val is _DROP:
            entry.pop(key)
        else:
            entry[key] = val
    return entry


_DROP = object()


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([_entry(citation="")], "citation is empty"),
        ([_entry(citation="   ")], "citation is empty"),
        ([_entry(citation=_DROP)], "missing key(s) citation"),
        ([_entry(effective_from="2016-13-01")], "not a date"),
        ([_entry(effective_from="soon")], "not a date"),
        ([_entry(effective_from=None)], "effective_from must be a date"),
        ([_entry(effective_to="2016-02-30")], "not a date"),
        ([_entry(effective_from="2017-01-01", effective_to="2016-12-31")], "before effective_from"),
        ([_entry(note="hello")], "unknown key(s) note"),
        ([_entry(jurisdiction="6a")], "digits only"),
        ([_entry(jurisdiction="xinjiang")], "digits only"),
        ([_entry(jurisdiction=65)], "quoted string"),
        ([_entry(jurisdiction="652")], "3 digits"),
        ([_entry(id="Announcement")], "dotted lower-case"),
        ([_entry(title="")], "title is empty"),
        ([_entry(value=None)], "value is missing"),
        ([_entry(value={"ratio": 1.5})], "float"),
        ([_entry(value={"cap_fen": "500"})], "integer number of fen"),
        (
            [_entry(effective_from="2016-01-01", effective_to="2017-12-31"), _entry(effective_from="2017-06-01")],
            "overlapping",
        ),
        ([_entry(), _entry()], "overlapping"),  # an open-ended rule twice
        ([_entry(effective_to="2016-12-31"), _entry(effective_from="2016-06-01", effective_to="2016-12-31")], "overlapping"),
    ],
)
def test_policy_errors_name_file_and_rule(tmp_path, entries, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_rules_file(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert entries[-1]["id"] in message  # the rule is named


def test_non_overlapping_ranges_and_other_jurisdictions_are_fine():
    rules = parse_rules(
        yaml.safe_dump(
            [
                _entry(effective_from="2016-01-01", effective_to="2016-12-31"),
                _entry(effective_from="2017-01-01"),
                _entry(jurisdiction="65", effective_from="2016-06-01"),
            ]
        ),
        "ok.yaml",
    )
    assert len(rules) == 3


def test_overlap_across_files_is_allowed_and_later_load_breaks_ties(tmp_path):
    base = write(tmp_path, "a.yaml",
                 "- {id: a.b, jurisdiction: '65', effective_from: 2016-01-01, value: 1, citation: c, title: t}\n")
    more = write(tmp_path, "b.yaml",
                 "- {id: a.b, jurisdiction: '65', effective_from: 2017-01-01, value: 2, citation: c, title: t}\n")
    table = load_policy([base, more])
    assert table.value("a.b", "650000", date(2016, 6, 1)) == 1
    assert table.value("a.b", "650000", date(2017, 6, 1)) == 2  # later effective_from wins the tie


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{id: a.b}", "must be a YAML list"),
        ("- [1, 2]", "must be a mapping"),
        ("- {id: a.b, id: a.c}", "duplicate key"),
        ("- {id: a.b\n", "not valid YAML"),
    ],
)
def test_structural_policy_errors(text, fragment):
    with pytest.raises(PolicyError, match=re.escape(fragment)) as info:
        parse_rules(text, "deploy/broken.yaml")
    assert "deploy/broken.yaml" in str(info.value)


def test_missing_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy([tmp_path / "absent.yaml"])


# --------------------------------------------------------------------------------------------
# the shipped table
# --------------------------------------------------------------------------------------------


def test_every_shipped_rule_has_a_citation_and_title(policy):
    assert len(policy) > 40
    for r in policy:
        assert r.citation.strip(), r
        assert r.title.strip(), r
        assert r.source == str(SHIPPED_RULES)


SEED_CITATION = re.compile(r"seed (\d{3}) L(\d+)")

# What each cited seed line must say (checked against the seed text, so a citation can't drift).
SEED_LINE_SAYS = {
    ("002", 45): ["两不愁、三保障"],
    ("002", 49): ["贫困村全部出列", "集体经济有一定规模"],
    ("002", 164): ["村集体年收入(万元)"],
    ("002", 166): ["2"],
    ("002", 168): ["≥5"],
    ("002", 170): ["预期性"],
    ("002", 569): ["返贫家庭", "临时救助", "医疗救助", "农村低保"],
    ("002", 788): ["一年一调整", "公告公示", "原有扶贫政策在一定时期内不变"],
    ("002", 804): ["5万元以下、3年以内", "免抵押免担保"],
    ("003", 187): ["四具有", "具有良好文化生活"],
    ("003", 191): ["1767户4340人", "每年年底动态管理"],
    ("003", 193): ["3146元", "3335元", "3535元、3747元、3972元"],
    ("003", 197): ["2300元,2010年不变价", "可支配收入", "具有技能"],
    ("003", 473): ["5万元以下、3年以内"],
    ("003", 477): ["不改变资金使用性质及用途"],
    ("003", 481): ["攻坚期内国家原有扶贫政策保持不变"],
    ("003", 487): ["每户贫困户都有相应的扶持措施", "每年增加300元"],
    ("003", 491): ["挤占挪用", "层层截留", "虚报冒领", "挥霍浪费", "优亲厚友", "显失公平"],
    ("003", 497): ["连续两年超过扶贫标准", "缓冲期"],
    ("004", 15): ["规模控制"],
    ("004", 19): ["每三年进行一次动态调整", "脱贫人口不再享受扶贫政策"],
    ("004", 27): ["3月底前", "2个月内", "滞留资金", "下一财政年度内全额无条件返还省级财政", "原管理渠道"],
    ("004", 33): ["行政村公告公示", "县级公告公示", "县以上资金信息披露"],
    ("004", 53): ["2020年前保持原有扶持政策不变"],
    ("004", 63): ["每个贫困户都有帮扶责任人"],
}


def _seed_lines(number: str) -> list[str]:
    files = sorted(SEEDS.glob(f"{number}_*.txt"))
    assert len(files) == 1, f"seed {number} not found in {SEEDS}"
    # numbered as `sed -n 'Np'` does: split on newlines only
    return files[0].read_text(encoding="utf-8").split("\n")


def test_seed_citations_point_at_existing_lines_that_say_it():
    seeds()
    cited = set()
    for entry in yaml.safe_load(SHIPPED_RULES.read_text(encoding="utf-8")):
        for number, line in SEED_CITATION.findall(entry["citation"]):
            lines = _seed_lines(number)
            n = int(line)
            assert 1 <= n <= len(lines), f"{entry['id']}: seed {number} L{n} beyond {len(lines)} lines"
            assert lines[n - 1].strip(), f"{entry['id']}: seed {number} L{n} is blank"
            cited.add((number, n))
    # every seed line cited is one whose content we have checked, and it says what we claim
    assert cited <= set(SEED_LINE_SAYS), f"add expected text for {sorted(cited - set(SEED_LINE_SAYS))}"
    for (number, n), phrases in SEED_LINE_SAYS.items():
        text = _seed_lines(number)[n - 1]
        for phrase in phrases:
            assert phrase in text, f"seed {number} L{n} does not say {phrase!r}"


def test_citations_use_the_seed_format():
    for entry in yaml.safe_load(SHIPPED_RULES.read_text(encoding="utf-8")):
        # no shorthand like "L481, L497" or "L49–L51": each seed line is cited in full
        stripped = SEED_CITATION.sub("", entry["citation"])
        assert not re.search(r"\bL\d+", stripped), entry["citation"]


def test_jinghe_exit_standard_2017_and_national_elsewhere(policy):
    day = date(2017, 10, 1)
    jinghe = policy.lookup("household.exit.income_standard", JINGHE_VILLAGE, day)
    assert jinghe.value["per_capita_income_fen"] == 333500
    assert jinghe.jurisdiction == "652722" and "seed 003 L193" in jinghe.citation
    for elsewhere in (XINJIANG_OTHER, SHANXI_VILLAGE, HEBEI_VILLAGE):
        national = policy.lookup("household.exit.income_standard", elsewhere, day)
        assert national.jurisdiction == "" and national.value["per_capita_income_fen"] == 230000
    yearly = {y: policy.value("household.exit.income_standard", JINGHE_VILLAGE,
                              date(y, 6, 30))["per_capita_income_fen"] for y in range(2016, 2021)}
    assert yearly == {2016: 314600, 2017: 333500, 2018: 353500, 2019: 374700, 2020: 397200}
    # 2015 (before the 十三五 plan) falls back to the national standard
    assert policy.value("household.exit.income_standard", JINGHE_VILLAGE, date(2015, 6, 30))["per_capita_income_fen"] == 230000


def test_shipped_rules_named_by_the_handbook(policy):
    day = date(2017, 6, 1)
    assert policy.value("announcement.min_period", JINGHE_VILLAGE, day) == {"days": 10, "unit": "calendar"}
    assert policy.value("funds.deadline.central_onward", JINGHE_VILLAGE, day)["days"] == 30
    # Shanxi's 2014 rules (seed 004 L27) in 2014; from 2015 预算法 (2014年修正), a newer law, wins (policy.precedence)
    assert policy.value("funds.deadline.central_onward", SHANXI_VILLAGE, date(2014, 6, 1))["months"] == 2
    assert policy.value("funds.deadline.central_advance_onward", SHANXI_VILLAGE, date(2014, 6, 1))["by_month_day"] == "03-31"
    assert policy.value("funds.deadline.central_onward", SHANXI_VILLAGE, day)["days"] == 30
    assert policy.value("funds.deadline.special_transfer_onward", JINGHE_VILLAGE, day)["days"] == 60
    assert policy.value("funds.deadline.general_transfer_onward", JINGHE_VILLAGE, day)["days"] == 30
    negative = policy.value("funds.use.negative_list", JINGHE_VILLAGE, day)
    assert len(negative) == 9 and all(item["code"] and item["label"] for item in negative)
    assert policy.value("funds.use.project_management_fee_cap", JINGHE_VILLAGE, day) == {"max_percent": 1, "level": "county"}
    assert policy.value("microcredit.limits", JINGHE_VILLAGE, day)["max_amount_fen"] == 5_000_000
    assert policy.value("microcredit.limits", JINGHE_VILLAGE, day)["max_term_months"] == 36
    assert policy.value("monitoring.income_line", JINGHE_VILLAGE, date(2021, 5, 1))["per_capita_income_fen"] == 600_000
    assert policy.value("household.exit.consecutive_years", JINGHE_VILLAGE, day) == {"years": 2}
    assert policy.value("household.exit.consecutive_years", HEBEI_VILLAGE, day) == {"years": 1}
    xj_checks = {c["code"] for c in policy.value("household.exit.required_checks", JINGHE_VILLAGE, day)["checks"]}
    cn_checks = {c["code"] for c in policy.value("household.exit.required_checks", HEBEI_VILLAGE, day)["checks"]}
    assert cn_checks < xj_checks and {"skills", "employment", "sustained_income", "cultural_life"} == xj_checks - cn_checks
    assert policy.value("household.review.interval", SHANXI_VILLAGE, day) == {"years": 3}
    assert policy.value("household.review.interval", JINGHE_VILLAGE, day) == {"years": 1}
    assert policy.value("household.post_exit.policy_continuation", SHANXI_VILLAGE, day)["continues"] is False
    assert policy.value("household.post_exit.policy_continuation", JINGHE_VILLAGE, day)["continues"] is True
    assert policy.value("village.exit.collective_income_min", JINGHE_VILLAGE, day)["annual_income_fen"] == 5_000_000
    assert policy.value("household.identification.quota", JINGHE_VILLAGE, date(2014, 12, 31))["max_households"] >= 1767
    assert policy.value("household.identification.quota", HEBEI_VILLAGE, day)["source"] == "provincial allocation"
    assert policy.value("funds.stranded.return", SHANXI_VILLAGE, day)["within"] == "next_fiscal_year"


WESTERN = ("15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")


@pytest.mark.parametrize("rule_id", ["village.exit.poverty_rate_max", "county.exit.poverty_rate_max"])
def test_exit_poverty_rate_west_and_elsewhere(policy, rule_id):
    day = date(2018, 1, 1)
    for province in WESTERN:
        assert policy.value(rule_id, province + "0102001001", day) == {"max_percent": 3}, province
    for province in ("11", "13", "14", "41", "42", "43", "46"):
        assert policy.value(rule_id, province + "0102001001", day) == {"max_percent": 2}, province


def test_money_in_shipped_rules_is_integer_fen():
    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k.endswith("_fen") and v is not None:
                    assert isinstance(v, int) and not isinstance(v, bool), (k, v)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert not isinstance(value, float)

    for r in load_policy():
        walk(r.value)


def test_shipped_holidays_cover_2016_to_2021(policy):
    for year in range(2016, 2022):
        r = policy.lookup("calendar.holidays", JINGHE_VILLAGE, date(year, 7, 1))
        assert r.effective_from == date(year, 1, 1) and r.effective_to == date(year, 12, 31)
        assert all(d.year == year for d in r.value["holidays"] + r.value["workdays"])
        assert all(d.weekday() >= 5 for d in r.value["workdays"]), year  # make-up days are weekends
        assert not set(r.value["holidays"]) & set(r.value["workdays"])
        assert date(year, 10, 1) in r.value["holidays"] and date(year, 5, 1) in r.value["holidays"]


# --------------------------------------------------------------------------------------------
# calendar arithmetic
# --------------------------------------------------------------------------------------------


def test_calendar_days_count_the_start_day():
    assert add_days(date(2017, 5, 2), 10) == date(2017, 5, 11)
    assert add_days(date(2017, 5, 2), 1) == date(2017, 5, 2)
    assert add_days(date(2016, 2, 20), 10, "calendar") == date(2016, 2, 29)  # leap year


def test_working_days_across_a_weekend():
    # Thu 2017-03-02 .. : Thu, Fri, (Sat, Sun), Mon, Tue, Wed
    assert add_days(date(2017, 3, 2), 5, "working") == date(2017, 3, 8)
    # starting on a Saturday: counting begins on Monday
    assert add_days(date(2017, 3, 4), 1, "working") == date(2017, 3, 6)


def test_working_days_across_a_holiday_and_make_up_workday(policy):
    holidays, workdays = holidays_for(policy, date(2016, 9, 1), date(2016, 10, 31))
    assert date(2016, 10, 3) in holidays and date(2016, 10, 8) in workdays
    # Thu 2016-09-29, Fri 09-30, 10-01..07 National Day, Sat 10-08 and Sun 10-09 are 上班 (调休)
    assert add_days(date(2016, 9, 29), 3, "working", holidays, workdays) == date(2016, 10, 8)
    assert add_days(date(2016, 9, 29), 4, "working", holidays, workdays) == date(2016, 10, 9)
    assert add_days(date(2016, 9, 29), 5, "working", holidays, workdays) == date(2016, 10, 10)
    # without the holiday data the same period ends on 10-05
    assert add_days(date(2016, 9, 29), 5, "working") == date(2016, 10, 5)
    assert deadline(policy, date(2016, 9, 29), 5, "working", JINGHE_VILLAGE) == date(2016, 10, 10)
    # Spring Festival 2017: Sun 01-22 is a workday, 01-27..02-02 off, Sat 02-04 a workday
    h, w = holidays_for(policy, date(2017, 1, 1), date(2017, 2, 28))
    assert add_days(date(2017, 1, 21), 1, "working", h, w) == date(2017, 1, 22)
    assert add_days(date(2017, 1, 26), 2, "working", h, w) == date(2017, 2, 3)
    assert add_days(date(2017, 1, 26), 3, "working", h, w) == date(2017, 2, 4)
    assert is_working_day(date(2017, 2, 4), h, w) and not is_working_day(date(2017, 1, 30), h, w)


def test_holidays_for_spans_years_and_20_working_days(policy):
    holidays, workdays = holidays_for(policy, date(2019, 12, 20), date(2020, 2, 20))
    assert date(2019, 10, 1) in holidays and date(2020, 1, 24) in holidays
    assert date(2020, 1, 19) in workdays and date(2020, 2, 1) not in workdays  # 2020 extension
    # 20 working days from Mon 2020-01-13: 13-17 (5), Sun 19 (6), 20-23 (10), 24 Jan - 2 Feb off,
    # 3-7 Feb (15), 10-14 Feb (20)
    assert deadline(policy, date(2020, 1, 13), 20, "working") == date(2020, 2, 14)
    # a year with no holiday rule contributes nothing
    assert holidays_for(policy, date(2030, 1, 1), date(2030, 12, 31)) == (frozenset(), frozenset())


def test_add_days_rejects_bad_input():
    with pytest.raises(ValueError):
        add_days(date(2017, 1, 1), 0)
    with pytest.raises(ValueError):
        add_days(date(2017, 1, 1), 3, "fortnights")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_days(date(2017, 1, 1), 2.5)  # type: ignore[arg-type]


def test_add_months_clamps_to_month_end():
    assert add_months(date(2017, 3, 15), 2) == date(2017, 5, 15)
    assert add_months(date(2016, 12, 31), 2) == date(2017, 2, 28)
    assert add_months(date(2015, 12, 31), 2) == date(2016, 2, 29)
    assert add_months(date(2017, 11, 30), 2) == date(2018, 1, 30)


# --------------------------------------------------------------------------------------------
# precedence (policy.precedence): a newer superior rule wins over an older more specific one
# --------------------------------------------------------------------------------------------

_PRECEDENCE_CASE = """\
- {id: policy.precedence, jurisdiction: "", effective_from: 2000-07-01, value: {superior: [law], newer_superior_wins: true},
   citation: "《中华人民共和国立法法》(2015年修正) 第八十八条、第九十二条", title: t}
- {id: x.deadline, jurisdiction: "", effective_from: 2015-01-01, value: {days: 30}, citation: law, title: t, authority: law}
- {id: x.deadline, jurisdiction: "14", effective_from: 2014-01-01, value: {days: 60}, citation: old local, title: t}
- {id: x.deadline, jurisdiction: "65", effective_from: 2017-01-01, value: {days: 20}, citation: newer local, title: t}
- {id: x.plain, jurisdiction: "", effective_from: 2015-01-01, value: {days: 30}, citation: handbook, title: t}
- {id: x.plain, jurisdiction: "14", effective_from: 2014-01-01, value: {days: 60}, citation: old local, title: t}
"""


def test_precedence_newer_law_over_older_local_rule():
    table = PolicyTable(parse_rules(_PRECEDENCE_CASE))
    assert table.lookup("x.deadline", "140000000000", date(2014, 6, 1)).citation == "old local"  # the law not yet in force
    assert table.lookup("x.deadline", "140000000000", date(2015, 6, 1)).citation == "law"  # newer law wins
    assert table.lookup("x.deadline", "650000000000", date(2017, 6, 1)).citation == "newer local"  # issued after the law
    assert table.lookup("x.deadline", "650000000000", date(2016, 6, 1)).citation == "law"
    # a national rule that is not a law does not override the specific one
    assert table.lookup("x.plain", "140000000000", date(2017, 6, 1)).citation == "old local"
    why = table.explain("x.deadline", "140000000000", date(2015, 6, 1))
    assert [r.citation for r in why["overrides"]] == ["old local"] and "立法法" in why["precedence"].citation
    # without the precedence rule: most specific wins, as before
    plain = PolicyTable([r for r in parse_rules(_PRECEDENCE_CASE) if r.id != "policy.precedence"])
    assert plain.lookup("x.deadline", "140000000000", date(2015, 6, 1)).citation == "old local"


def test_authority_is_checked():
    with pytest.raises(PolicyError, match="authority 'god'"):
        parse_rules('- {id: a.b, jurisdiction: "", effective_from: 2014-01-01, value: 1, citation: c, title: t, authority: god}')

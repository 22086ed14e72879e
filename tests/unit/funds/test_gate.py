"""The projects gate as a table (services.funds.domain.gate): each refusal in its order."""

import pytest

from services.funds.domain import gate

COUNTY = "652722000000"


def project(**changes):
    return {"division": "652722101000", "in_library": True, "publicity_passed": True, "cancelled": False, **changes}


@pytest.mark.parametrize("row, county, code", [
    (project(), COUNTY, None),
    (None, COUNTY, "unknown_project"),
    (project(), "652701000000", "unknown_project"),  # another county's project
    (project(cancelled=True), COUNTY, "project_cancelled"),
    (project(cancelled=True, publicity_passed=False), COUNTY, "project_cancelled"),  # cancelled comes first
    (project(publicity_passed=False), COUNTY, "project_not_in_library"),
    (project(in_library=False), COUNTY, "project_not_in_library"),
])
def test_the_first_rule_that_holds_refuses(row, county, code):
    assert gate.refusal(row, county) == code


def test_every_refusal_has_a_reason_and_the_sentence_names_the_project():
    assert [code for code, _, _ in gate.RULES] == list(gate.REASONS)
    assert gate.sentence("P-1", "project_cancelled") == "项目P-1不能安排资金：项目已取消 (the project was cancelled)"

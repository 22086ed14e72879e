"""The project lifecycle as data: each step's stage, offices and named preconditions."""

from __future__ import annotations

import pytest

from services.projects.domain import lifecycle
from services.projects.domain.lifecycle import Facts, Refused, check

PASSED_ALL = {"village": "passed", "township": "passed", "county": "passed"}
LEVELS = ("village", "township", "county")


def missing(action, facts, **kw):
    with pytest.raises(Refused) as refused:
        check(action, facts, **kw)
    return [m.code for m in refused.value.missing]


def test_approval_needs_performance_targets():
    assert missing("approve", Facts("appraised", targets=0)) == ["performance_targets"]
    assert missing("approve", Facts("appraised", targets=1, min_targets=2)) == ["performance_targets"]
    assert check("approve", Facts("appraised", targets=1)).to_stage == "approved"


def test_a_step_out_of_turn_names_the_stage_it_needs():
    with pytest.raises(Refused) as refused:
        check("appraise", Facts("proposed"))
    [only] = refused.value.missing
    assert only.code == "stage" and "乡镇审核通过" in only.label and "proposed" in only.detail


def test_entering_the_library_needs_every_level_passed():
    facts = Facts("in_publicity", required_levels=LEVELS, publicity={"village": "passed", "township": "failed"})
    with pytest.raises(Refused) as refused:
        check("enter-library", facts)
    detail = refused.value.missing[0].detail
    assert "乡镇级公示未通过(有异议)" in detail and "县级公示未发布" in detail and "村级" not in detail
    assert check("enter-library", Facts("in_publicity", required_levels=LEVELS, publicity=PASSED_ALL)).to_stage == "in_library"


def test_implementation_needs_money_and_completion_needs_100_percent():
    assert missing("report-progress", Facts("planned", committed_fen=100)) == ["stage"]
    assert missing("report-progress", Facts("funded", committed_fen=0)) == ["funds_committed"]
    assert check("report-progress", Facts("funded", committed_fen=1)).to_stage == "in_progress"
    assert missing("complete", Facts("in_progress", progress_percent=99)) == ["progress_complete"]
    assert missing("accept", Facts("in_progress")) == ["stage"]  # acceptance before completion
    assert missing("hand-over", Facts("results_announced", results_notice="published")) == ["results_announcement_passed"]


def test_the_results_are_announced_again_only_after_a_failed_or_withdrawn_notice():
    assert check("announce-results", Facts("accepted")).to_stage == "results_announced"
    for state in ("failed", "withdrawn"):  # an objection upheld, or the notice taken down: announce again
        assert check("announce-results", Facts("results_announced", results_notice=state)).to_stage == "results_announced"
    for state in ("published", "passed"):
        assert missing("announce-results", Facts("results_announced", results_notice=state)) == [
            "results_announcement_not_open"]
    assert missing("announce-results", Facts("handed_over", results_notice="passed")) == ["stage"]


def test_cancellation_any_time_before_acceptance():
    for stage in lifecycle.BEFORE_ACCEPTANCE:
        assert check("cancel", Facts(stage)).to_stage == "cancelled"
    for stage in ("accepted", "results_announced", "handed_over", "cancelled", "rejected"):
        assert missing("cancel", Facts(stage)) == ["stage"]


def test_refusals_only_where_a_step_has_one():
    assert lifecycle.next_stage(check("approve", Facts("appraised"), approve=False), approve=False) == "rejected"
    assert missing("plan", Facts("in_library"), approve=False) == ["decision"]


def test_site_is_the_projects_own_level():
    assert lifecycle.offices(lifecycle.STEPS["report-progress"], "village") == ("village", "township", "county")
    assert lifecycle.offices(lifecycle.STEPS["report-progress"], "township") == ("township", "county")
    assert lifecycle.offices(lifecycle.STEPS["withdraw"], "township") == ("township",)


def test_publicity_levels_and_their_order():
    assert lifecycle.publicity_levels("village", ["village", "township", "county"]) == LEVELS
    assert lifecycle.publicity_levels("township", ["village", "township", "county"]) == ("township", "county")
    assert lifecycle.publicity_levels("village", ["county"]) == ("county",)  # a deployment that posts only at county
    facts = Facts("approved", required_levels=LEVELS)
    with pytest.raises(Refused) as refused:
        lifecycle.check_publicity("county", facts)
    assert [m.code for m in refused.value.missing] == ["publicity_passed:village", "publicity_passed:township"]
    lifecycle.check_publicity("village", facts)
    with pytest.raises(Refused):
        lifecycle.check_publicity("village", Facts("in_publicity", required_levels=LEVELS, publicity={"village": "published"}))
    lifecycle.check_publicity("village", Facts("in_publicity", required_levels=LEVELS, publicity={"village": "failed"}))
    with pytest.raises(Refused):
        lifecycle.check_publicity("village", Facts("in_library", required_levels=LEVELS))


def test_every_stage_and_precondition_is_labelled_and_reachable():
    named = {p for s in lifecycle.STEPS.values() for p in s.preconditions}
    assert named <= set(lifecycle.PRECONDITIONS)
    reached = ({"proposed"} | {s.to_stage for s in lifecycle.STEPS.values()}
               | {s.reject_to for s in lifecycle.STEPS.values() if s.reject_to})
    assert reached == set(lifecycle.STAGES)
    assert all(s.event.startswith("projects.") for s in lifecycle.STEPS.values())

"""Report figures from plain rows: deadline compliance and the stranded-funds return date."""

from datetime import date

from services.funds.domain.reporting import deadline_compliance, percent, stranded_due
from shared.policy import load_policy

A, B = "650000000000", "652700000000"


def row(receiver, state, due, basis_on, settled_on=None, kind="onward_allocation"):
    return {"receiver": receiver, "kind": kind, "state": state, "due": due, "basis_on": basis_on, "settled_on": settled_on}


def test_compliance_counts_met_missed_open_and_overdue_per_receiver_and_kind():
    rows = [row(A, "met", date(2017, 4, 9), date(2017, 3, 10), date(2017, 3, 25)),
            row(A, "met", date(2017, 4, 9), date(2017, 3, 10), date(2017, 3, 12)),
            row(A, "missed", date(2017, 4, 9), date(2017, 3, 10), date(2017, 5, 1)),
            row(A, "missed", date(2017, 4, 9), date(2017, 3, 10)),
            row(B, "open", date(2017, 5, 1), date(2017, 4, 1)),
            row(B, "open", date(2017, 6, 1), date(2017, 5, 2)),
            row(B, "open", None, date(2017, 5, 2), kind="onto_projects")]
    [a, b_onto, b] = deadline_compliance(rows, today=date(2017, 5, 15))
    assert (a["receiver"], a["total"], a["met"], a["missed"], a["settled_late"]) == (A, 4, 2, 2, 1)
    assert a["compliance_percent"] == "50.00"
    assert a["days_to_settle"] == {"min": 2, "median": 15, "max": 52}
    assert (b["open"], b["open_overdue"], b["compliance_percent"], b["days_to_settle"]) == (2, 1, None, None)
    assert (b_onto["kind"], b_onto["open_overdue"]) == ("onto_projects", 0)  # "promptly": never overdue


def test_percent_rounds_half_up_exactly():
    assert percent(1, 3) == "33.33" and percent(2, 3) == "66.67" and percent(1, 8) == "12.50" and percent(0, 5) == "0.00"


def test_stranded_money_is_due_back_by_the_end_of_the_next_fiscal_year_with_its_rule():
    policy = load_policy()
    assert stranded_due(policy, "652722000000", 2017, date(2017, 8, 1)) == (
        date(2018, 12, 31), "funds.stranded.return", "DOMAIN.md §4")
    assert stranded_due(policy, "140100000000", 2017, date(2017, 8, 1))[2] == "seed 004 L27"  # Shanxi's own rule

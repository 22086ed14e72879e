"""The division a list or report covers (shared.auth.query_scope)."""

import pytest

from shared.auth import Principal, query_scope
from shared.errors import Forbidden

COUNTY = Principal(sub="县财政局", roles=frozenset({"county_finance"}), division="652722000000")


def test_the_callers_own_division_when_none_is_asked_for():
    assert query_scope(COUNTY, None) == "652722000000"


def test_a_division_under_the_caller_is_allowed():
    assert query_scope(COUNTY, "652722102201") == "652722102201"


@pytest.mark.parametrize("division", ["652701000000", "650000000000", "000000000000"])
def test_a_division_outside_or_above_the_caller_is_refused(division):
    with pytest.raises(Forbidden):
        query_scope(COUNTY, division)

"""The read-back checks of ``tests/exports.py`` catch what they are for: a column whose key the
JSON rows lack (it would write an empty column everywhere, which a cell-by-cell comparison of the
file with the JSON's own empty values cannot see)."""

from __future__ import annotations

import pytest

from services.funds.api.exports import BALANCES
from shared.web.export import Column, Export
from tests.exports import assert_columns_read_the_json

ANSWER = {"items": [{"account_id": 1, "division": "652722000000", "role": "finance", "channel": "central_special",
                     "fiscal_year": 2018, "kind": "pool", "reference": None, "balance": "10.00", "period": None}]}


def test_columns_that_read_fields_of_the_rows_pass():
    assert_columns_read_the_json(BALANCES, ANSWER, "/balances")
    # a null on the way is a field the row has (``period`` null answers ``period.end``)
    assert_columns_read_the_json(Export("x", columns=(Column("period.end", "截止"),)), ANSWER)
    assert_columns_read_the_json(Export("x", columns=(Column("nowhere", "无"),)), {"items": []})  # no rows: nothing to say


def test_a_column_whose_key_no_row_has_fails_naming_it():
    misspelt = Export(BALANCES.name, columns=(*BALANCES.columns[:-1], Column("balanse", "余额（元）", "yuan")))
    with pytest.raises(AssertionError, match=r"余额（元） \(balanse\)"):
        assert_columns_read_the_json(misspelt, ANSWER, "/balances")

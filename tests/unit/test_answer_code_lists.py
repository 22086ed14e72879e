"""The code lists of answer fields that were plain strings (an adjustment item's action, a bank
result file's format and its lines' problems, a log-verification problem's kind, a performance
score's component): each list holds exactly the codes the domain code produces, so the catalogue
tests (``test_catalogue.py``, the demo test) see every value such a field can carry."""

import ast
import inspect
from typing import get_args

from services.audit import checkpoints, run, verify
from services.audit.domain import scoring
from services.audit.domain.code_lists import CHAIN_PROBLEM_KIND, SCORE_COMPONENT
from services.funds.domain import payments
from services.funds.domain.code_lists import BANK_RESULT_FORMAT, BANK_RESULT_PROBLEM
from services.projects.api.models import AdjustmentItem
from services.projects.domain import adjustment
from shared.policy import load_policy


def test_an_adjustment_item_is_one_of_the_actions_the_domain_knows_the_stages_of():
    assert tuple(adjustment.ACTIONS) == tuple(adjustment.ITEM_STAGES)
    assert get_args(AdjustmentItem.model_fields["action"].annotation) == tuple(adjustment.ACTIONS)


def test_the_bank_result_lists_are_the_formats_parsed_and_the_problems_judged():
    assert BANK_RESULT_FORMAT.codes == payments.RESULT_FORMATS
    line = payments.ResultLine
    outcome = payments.judge_results(
        [line(1, "nobody", "paid"), line(2, "a", "paid"), line(3, "a", "paid"), line(4, "b", "refused")],
        {"a": "instructed", "b": "paid"})
    assert {p["code"] for p in outcome.problems} == set(BANK_RESULT_PROBLEM.codes)
    produced = {node.values[node.keys.index(key)].value for node in ast.walk(ast.parse(inspect.getsource(payments)))
                if isinstance(node, ast.Dict) for key in node.keys
                if isinstance(key, ast.Constant) and key.value == "code"
                and isinstance(node.values[node.keys.index(key)], ast.Constant)}
    assert produced == set(BANK_RESULT_PROBLEM.codes)


def _kinds(module) -> set[str]:
    """The kind (second-to-last positional argument) of every ChainProblem(…), .problem(…) and
    ._problem(…) call in the module's source; each must be a literal."""
    kinds = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in ("ChainProblem", "problem", "_problem"):
            continue
        kind = node.args[-2]
        if isinstance(kind, ast.Attribute) and kind.attr == "kind" or isinstance(kind, ast.Name) and kind.id == "kind":
            continue  # passed on: a helper's parameter, or a checkpoint's problems into the chain (run.py)
        assert isinstance(kind, ast.Constant), ast.unparse(node)
        kinds.add(kind.value)
    return kinds


def test_the_chain_problem_kinds_are_the_kinds_verification_names():
    assert _kinds(verify) | _kinds(checkpoints) | _kinds(run) == set(CHAIN_PROBLEM_KIND.codes)


def test_the_money_flows_operations_are_every_operation_the_ledger_accepts():
    from services.funds.contract import OPERATION_VOCABULARY
    from services.funds.domain.ledger import OPERATION_KINDS, OPERATIONS

    assert set(OPERATION_VOCABULARY.codes) == set(OPERATIONS) == set(OPERATION_KINDS)


def test_the_score_components_are_the_ones_the_rule_weighs():
    assert tuple(scoring.COMPONENTS) == SCORE_COMPONENT.codes
    [rule] = [r for r in load_policy(()) if r.id == "division.performance.score"]
    assert set(rule.value["components"]) == set(SCORE_COMPONENT.codes)

"""The pure rules of the county's registry work: error rates and the review interval, grievance
deadlines, duplicate normalisation."""

from datetime import date

from services.registry.domain import error_rates
from services.registry.domain.duplicates import PersonKey, compare, normalise_name, screen
from services.registry.domain.grievance import Due, overdue
from services.registry.usecases.grievances import due_dates
from shared.idcard import make_id
from shared.policy import load_policy


def test_a_rate_must_be_below_its_maximum():
    assert error_rates.Rate(2, 100, 2).within is False and error_rates.Rate(2, 100, 2).percent == "2.00"
    assert error_rates.Rate(1, 101, 2).within is True and error_rates.Rate(1, 101, 2).percent == "0.99"
    assert error_rates.Rate(0, 0, 2).within is True


def test_the_review_interval_follows_the_jurisdiction():
    policy = load_policy()
    shanxi = policy.value("household.review.interval", "140000000000", date(2016, 1, 1))["years"]
    national = policy.value("household.review.interval", "652722000000", date(2016, 1, 1))["years"]
    assert (shanxi, national) == (3, 1)
    assert error_rates.review_schedule(2014, shanxi, 2017) == {
        "last_review_year": 2014, "interval_years": 3, "next_review_year": 2017, "overdue": False}
    assert error_rates.review_schedule(2014, national, 2016)["overdue"] is True


def test_grievance_deadlines_by_jurisdiction_and_overdue():
    policy = load_policy()
    due, rule = due_dates(policy, "652722102201", date(2016, 3, 1))
    assert (due.accept_by, due.answer_by) == (date(2016, 3, 15), date(2016, 4, 29)) and "431" in rule["citation"]
    guizhou, _ = due_dates(policy, "520100000000", date(2016, 3, 1))
    assert guizhou.answer_by < due.answer_by  # 20 working days
    assert overdue("received", Due(date(2016, 3, 15), date(2016, 4, 29)), date(2016, 3, 16)) == ["accept"]
    assert overdue("answered", Due(date(2016, 3, 15), date(2016, 4, 29)), date(2016, 5, 1)) == []


def test_names_are_normalised_and_one_file_is_screened_against_itself():
    assert normalise_name("張 偉") == normalise_name("张伟") == "张伟"
    assert normalise_name("阿卜杜拉·买买提") == "阿卜杜拉买买提"
    born = date(1980, 2, 2)
    first = PersonKey.of("1", make_id("652722", born, 11), "王芳", "652722102201")
    again = PersonKey.of("2", make_id("652722", born, 17), "王芳", "652722102201")
    assert [(c.person.id, c.other.id) for c in screen([first, again], [])] == [("2", "1")]
    assert compare(first, first) is None


def test_the_check_digit_in_base_13_agrees_with_the_weighted_sum_of_gb_11643():
    import random

    from shared import idcard

    rng = random.Random(11643)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        weighted = sum(int(d) * w for d, w in zip(first17, idcard._WEIGHTS)) % 11
        assert idcard.check_digit(first17) == idcard._CHECK_CHARS[weighted]

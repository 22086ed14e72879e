"""The field → department mapping: one department per owned field, every department known."""

from services.registry.usecases.assistance import DEPARTMENT_FIELDS
from services.registry.domain.departments import (
    BASIC_PERSON_FIELDS,
    DEPARTMENT_LABELS,
    HOUSEHOLD_FIELD_DEPARTMENT,
    PERSON_FIELD_DEPARTMENT,
    household_for,
    person_for,
)
from shared.auth import DEPARTMENTS


def test_every_department_of_the_tokens_has_a_label_and_owns_only_its_fields():
    assert set(DEPARTMENT_LABELS) == DEPARTMENTS
    assert set(PERSON_FIELD_DEPARTMENT.values()) | set(HOUSEHOLD_FIELD_DEPARTMENT.values()) <= DEPARTMENTS
    assert set(DEPARTMENT_FIELDS) <= DEPARTMENTS
    assert not BASIC_PERSON_FIELDS & set(PERSON_FIELD_DEPARTMENT)


def test_a_department_sees_the_basic_fields_and_its_own():
    person = {"name": "王某", "health": "major_illness", "school_stage": "junior",
              "details": {"health": {"illness": "尿毒症"}, "civil_affairs": {"dibao": True}}}
    assert person_for(person, "civil_affairs") == {"name": "王某", "details": {"civil_affairs": {"dibao": True}}}
    assert person_for(person, "health") == {"name": "王某", "health": "major_illness",
                                            "details": {"health": {"illness": "尿毒症"}}}
    assert person_for(person, None) == person
    household = {"number": "1", "housing": {"dangerous_grade": "D"}, "members": [person]}
    assert household_for(household, "education") == {"number": "1", "members": [
        {"name": "王某", "school_stage": "junior", "details": {}}]}
    assert household_for(household, "housing")["housing"] == {"dangerous_grade": "D"}

"""The registry's household, search and person answers are instances of the models its OpenAPI
document names (closed: no undocumented field), with labels beside the codes a person reads (issue 14)."""

from __future__ import annotations

from tests.conftest import bearer
from tests.service.answer_models import assert_documented
from tests.service.registry_support import COUNTY, exit_household, family, identify


async def test_household_person_and_search_answers_match_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    members = family(41, size=4)
    hid = await identify(r, members)
    await exit_household(r, hid)  # incomes, exit checks, post_exit: the fullest record
    county = r.token("county_office", COUNTY)

    household = await r.client.get(f"/households/{hid}", params={"as_of": "2016-06-30"}, headers=county)
    assert household.status_code == 200, household.text
    body = household.json()
    assert_documented(spec, "/households/{household_id}", body, model="HouseholdOut")
    assert (body["main_cause"], body["main_cause_label"], body["poverty_attribute_label"]) == (
        "illness", "因病", "一般贫困户")
    assert body["incomes"] and body["post_exit"] and body["status_as_of"]
    assert [(m["relation"], m["relation_label"]) for m in body["members"]][:2] == [("head", "户主"), ("spouse", "配偶")]

    page = await r.client.get("/households", params={"id_number": members[1]["id_number"]}, headers=county)
    assert page.status_code == 200 and [h["id"] for h in page.json()["items"]] == [hid]
    assert_documented(spec, "/households", page.json(), model="HouseholdPage")

    person = await r.client.get(f"/persons/{members[2]['id_number']}", headers=county)
    assert person.status_code == 200, person.text
    assert_documented(spec, "/persons/{id_number}", person.json(), model="PersonOut")
    assert (person.json()["relation_label"], person.json()["household"]["status_label"]) == ("子女", "已脱贫")

    # a department reads fewer fields: still the same model, the relation's label among its basic fields
    health = bearer(r.settings, "department", COUNTY, dept="health")
    seen = (await r.client.get(f"/households/{hid}", headers=health)).json()
    assert_documented(spec, "/households/{household_id}", seen)
    assert "housing" not in seen and seen["members"][0]["relation_label"] == "户主"
    assert_documented(spec, "/persons/{id_number}", (await r.client.get(
        f"/persons/{members[2]['id_number']}", headers=health)).json())

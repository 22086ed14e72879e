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


async def test_the_writes_on_a_household_answer_the_household_model(registry):
    from datetime import date

    from shared.idcard import make_id
    from tests.service.registry_support import VILLAGE

    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    proposed = await r.propose(family(43), secondary_cause="lack_skills")
    assert proposed.status_code == 201, proposed.text
    assert_documented(spec, "/households", proposed.json(), method="post", status="201", model="ProposedOut")
    assert proposed.json()["secondary_cause_label"] == "缺技术"
    hid = proposed.json()["id"]
    steps = "/households/{household_id}/steps/{action}"
    appraised = await r.step(hid, "appraise", "village", VILLAGE)
    assert appraised.status_code == 200, appraised.text
    assert_documented(spec, steps, appraised.json(), method="post", model="HouseholdOut")
    baby = {"id_number": make_id("652722", date(2016, 2, 1), 431), "name": "新生儿", "relation": "grandchild",
            "labour_capacity": "no_labour"}
    writes = [
        ("post", "/households/{household_id}/members", f"/households/{hid}/members", baby, "201"),
        ("post", "/households/{household_id}/members/{id_number}/leave",
         f"/households/{hid}/members/{baby['id_number']}/leave", {"reason": "deceased", "on": "2016-02-20"}, "200"),
        ("put", "/households/{household_id}/helper", f"/households/{hid}/helper", {"name": "王干部", "unit": "县扶贫办"},
         "200"),
        ("put", "/households/{household_id}/incomes/{year}", f"/households/{hid}/incomes/2015",
         {"year": 2015, "net_per_capita": "2100.00", "components": {"wage": "1000.00"}}, "200"),
    ]
    for method, template, path, body, status in writes:
        answer = await r.client.request(method.upper(), path, json=body, headers=r.headers("village", VILLAGE))
        assert answer.status_code == int(status), (path, answer.text)
        assert_documented(spec, template, answer.json(), method=method, status=status, model="HouseholdOut")

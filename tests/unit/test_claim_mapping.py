"""The claim mapping (FUPIN_JWT_CLAIM_*): one reading of roles, division and department for the
services' bearer tokens and the console's ID tokens."""

import pytest

from shared.auth import principal_from_claims
from shared.config import settings_for
from shared.errors import Unauthorized


def test_the_default_claims():
    principal = principal_from_claims({"sub": "a", "roles": ["county_office"], "division": "652722"},
                                      settings_for("registry"))
    assert principal.roles == {"county_office"} and principal.division == "652722000000" and principal.dept is None


def test_mapped_nested_and_space_separated_claims():
    settings = settings_for("registry", jwt_claim_roles="realm_access.roles", jwt_claim_division="org.division",
                            jwt_claim_dept="org.dept")
    principal = principal_from_claims({"sub": "b", "realm_access": {"roles": "department"},
                                       "org": {"division": "652722000000", "dept": "health"}}, settings)
    assert principal.roles == {"department"} and principal.dept == "health"


@pytest.mark.parametrize("claims, reason", [
    ({"sub": "c", "division": "652722000000"}, "roles"),
    ({"sub": "c", "roles": ["county_office"], "division": "65x"}, "区划"),
    ({"sub": "c", "roles": ["county_office"], "division": "652722102000"}, "层级"),
    ({"sub": "c", "roles": ["department"], "division": "652722000000"}, "部门"),
])
def test_claims_that_make_no_principal(claims, reason):
    with pytest.raises(Unauthorized, match=reason):
        principal_from_claims(claims, settings_for("registry"))

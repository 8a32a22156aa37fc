"""Whatever a client sends, the record API answers with a status it chose, never a 500
(SPEC section 7: every error answers JSON with a message)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.objects import BY_PLURAL
from crm.record_query import filterable_fields

from .api_factories import PLURALS, make_records

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
query_values = st.text(max_size=40) | st.sampled_from(
    ["2024-02-30", "true", "-1", "1e999", "00000000-0000-0000-0000-000000000000", "a@b.c"]
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def bodies(plural):
    fields = BY_PLURAL[plural].field_names + ["unknown"]
    return st.dictionaries(st.sampled_from(fields), json_values, max_size=5)


@pytest.fixture
def records(workspace):
    return make_records(workspace)


def answered_deliberately(response) -> bool:
    return response.status_code < 500 and isinstance(response.json(), dict)


@pytest.mark.parametrize("plural", PLURALS)
def test_any_json_body_on_create_and_patch_gets_a_deliberate_answer(api, records, plural):
    record = records[plural]

    @FUZZ
    @given(body=bodies(plural))
    def check(body):
        created = api.post(f"/api/v1/{plural}/", body, format="json")
        patched = api.patch(f"/api/v1/{plural}/{record.pk}/", body, format="json")
        assert answered_deliberately(created), created.content
        assert answered_deliberately(patched), patched.content

    check()


@pytest.mark.parametrize("plural", PLURALS)
def test_any_filter_value_gets_a_deliberate_answer(api, records, plural):
    names = filterable_fields(BY_PLURAL[plural]) + ["search", "ordering", "page_size"]

    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(names), query_values, max_size=3))
    def check(params):
        response = api.get(f"/api/v1/{plural}/", params)
        assert answered_deliberately(response), response.content
        assert response.status_code in (200, 400)

    check()

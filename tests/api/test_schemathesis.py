"""schemathesis against the API's own OpenAPI schema: generated requests find no server
errors, no responses outside the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.conftest import Api


@pytest.fixture
def api_schema(api: Api) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api.url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_api_conforms_to_its_schema(case: schemathesis.Case, api: Api) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api.token}"})

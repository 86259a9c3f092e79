"""Property test over the OpenAPI schema (schemathesis + hypothesis): no input gets a 5xx.

Every operation of the schema is exercised with generated parameters and bodies, inputs
that fit the schema and inputs that break it, and once more with a real cluster id in the
path so the handlers themselves (not only the 404) meet generated queries and bodies.
Calls run as an admin (every route open), on a real snapshot and a real SQLite store.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation.modes import GenerationMode

from ringscope.api.app import create_app

pytestmark = pytest.mark.slow

EXAMPLES = 10


def test_no_input_gets_a_server_error(settings, keys):
    app = create_app(settings)
    app.state.snapshots.refresh()
    top_cluster = app.state.snapshots.current.clusters["cluster_id"][0]
    headers = {"Authorization": f"Bearer {keys['admin']}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    strategies = []
    for operation in operations:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE))
        raw = operation.definition.raw
        if raw.get("parameters") or raw.get("requestBody"):
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        if "{cluster_id}" in operation.path:
            real = {"cluster_id": top_cluster}
            strategies.append(operation.as_strategy(path_parameters=real))

    for strategy in strategies:

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def no_server_error(case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            assert "Traceback" not in response.text

        no_server_error()

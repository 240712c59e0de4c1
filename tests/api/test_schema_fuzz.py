"""schemathesis against the served OpenAPI document, in process through the WSGI app: every
operation, 20 examples each (derandomised), as alice with a token; no 5xx, and every answer's
status, content type and body as the document says."""

from __future__ import annotations

import pytest
from django.core.wsgi import get_wsgi_application

from demixer.api import tokens

# slow: 20 examples of every operation (~5 s), in make test, not make test-fast
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_every_operation_answers_as_documented(alice, make_done_separation, settings) -> None:
    # here, not at the top: schemathesis and hypothesis take a moment to import, and only the
    # test process that runs this test needs them (their pytest plugin is off: pyproject.toml)
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as examples
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        schemathesis.checks.not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    settings.API_REQUESTS_PER_MINUTE = 0  # the limit has its own tests
    make_done_separation(alice)  # something to list and page through
    headers = {"Authorization": f"Bearer {tokens.create(alice, 'fuzz')[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @examples(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        check()

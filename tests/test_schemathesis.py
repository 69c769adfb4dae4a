"""A bounded schemathesis run against the API (issue 8, item 6): every operation of the OpenAPI
document at /api/v1/openapi.json, with all of schemathesis' checks, a fixed seed and few examples,
in-process against the WSGI app, once with an admin's token and once with a client user's."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.pytest.lazy import get_all_tests

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import Role
from tests.factories import make_agreement, make_client, make_user

MAX_EXAMPLES = 10


@pytest.fixture(params=[Role.ADMIN, Role.CLIENT])
def api_schema(request, app):
    with app.app_context():
        acme = make_client("Acme Hosting")
        make_agreement(
            acme,
            make_user(Role.COMPLIANCE),
            reference="DPA-ACME",
            signed_on=date(2025, 1, 1),
            effective_on=date(2025, 1, 1),
        )
        user = make_user(request.param, client=acme if request.param is Role.CLIENT else None)
        token = create_token(None, user)[1]
        db.session.commit()
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261123,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "checks": {
                "enabled": True,
                # Schema-valid is not always acceptable: cross-field rules (effective_on >= signed_on), ids of other
                # rows (client_id) and the stricter e-mail check answer 422 with the field named, as documented.
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]},
            },
            "headers": {"Authorization": f"Bearer {token}"},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def check(case) -> None:
    case.call_and_validate()


@pytest.mark.slow
# schemathesis' WSGI transport reads each response body but never closes the response, so a file sent by
# send_file (evidence download) is closed by the garbage collector instead, with a ResourceWarning.
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
def test_api_answers_as_documented(api_schema):
    # schemathesis' pytest plugin (``from_fixture(...).parametrize()``) sets ``request.node._nodeid``, which
    # pytest 9.2 no longer has; so the same per-operation tests (all phases, all checks) run here in a loop.
    failures = []
    for result in get_all_tests(schema=api_schema, test_func=check, settings=None, given_kwargs=None):
        operation, test = result.ok()
        try:
            test()
        except (Exception, BaseExceptionGroup) as error:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)

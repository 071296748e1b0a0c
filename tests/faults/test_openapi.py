"""Schemathesis against ``/openapi.json`` of a production API (tests/faults/stack.py): every
operation, as a signed-in user and as an administrator, bounded to a few examples each; any
HTTP 5xx fails the build. Runs after the rest of this folder (conftest.py orders it last),
since the admin side changes settings. Longer run: ``ATTUNE_OPENAPI_EXAMPLES=200`` (docs/deploy.md)."""

from __future__ import annotations

import os

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.faults.stack import FaultStack

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.runs_last]

EXAMPLES = int(os.environ.get("ATTUNE_OPENAPI_EXAMPLES", "6"))


def _token(base_url: str, email: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        reply = client.post("/api/auth/signup", json={"email": email, "password": "correct horse battery"})
        reply.raise_for_status()
        return reply.json()["access_token"]


@pytest.fixture(scope="module")
def tokens(fault_stack: FaultStack) -> dict[str, str]:
    user = _token(fault_stack.url(), "schemathesis-user@example.com")
    admin = _token(fault_stack.url(), "schemathesis-admin@example.com")
    with psycopg.connect(fault_stack.database_dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET role = 'admin' WHERE email = 'schemathesis-admin@example.com'")
    return {"user": user, "admin": admin}


@pytest.fixture(scope="module")
def api_schema(fault_stack: FaultStack):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{fault_stack.url()}/openapi.json")


def _strategy(operation):  # type: ignore[no-untyped-def]
    """Valid and invalid requests for one operation (an operation with nothing to negate: valid only)."""
    valid = operation.as_strategy(GenerationMode.POSITIVE)
    try:
        return valid | operation.as_strategy(GenerationMode.NEGATIVE)
    except Exception:  # noqa: BLE001 - schemathesis cannot negate every schema
        return valid


def test_no_operation_answers_5xx_to_a_user_or_an_admin(api_schema, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    # Driven from here rather than schemathesis' pytest plugin, which does not run under pytest 9.
    server_errors: list[str] = []
    calls = 0
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20, "the schema lists too few operations"

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=_strategy(operation))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            for role, token in tokens.items():
                response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
                calls += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{role}: {case.method} {case.formatted_path} -> {response.status_code}\n"
                        f"  {case.as_curl_command()}\n  {response.text[:300]}"
                    )

        run()
    print(f"schemathesis: {len(operations)} operations, {calls} calls, {len(server_errors)} 5xx")
    assert not server_errors, f"{len(server_errors)} server errors:\n" + "\n".join(server_errors[:20])

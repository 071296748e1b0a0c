"""The REST API's OpenAPI schema (scripts/gen_openapi.py), from which the front end's REST types
are generated: committed up to date, every route's body named, and every field the server always
sends marked required."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import gen_openapi


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return gen_openapi.openapi_schema()


def test_the_committed_schema_is_the_apps_schema() -> None:
    assert gen_openapi.SCHEMA_PATH.read_text(encoding="utf-8") == gen_openapi.render(), (
        "frontend/src/lib/openapi.json is stale: run `make frames` and commit the result"
    )


def test_every_json_answer_has_a_named_model(schema: dict[str, Any]) -> None:
    # A route answering a bare dict would give the front end an untyped body.
    unnamed = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                body = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and body is not None and "$ref" not in body and "items" not in body:
                    unnamed.append(f"{method.upper()} {path} {code}")
    # /readyz answers its own JSONResponse (200 or 503), outside the front end's reach.
    assert unnamed == ["GET /readyz 200"]


def test_a_sent_record_lists_its_defaulted_fields_as_required(schema: dict[str, Any]) -> None:
    defs = schema["components"]["schemas"]
    for name in ("ModelPublic", "RetagProgress", "TokenPublic", "SafetyVerdict", "EmotionReading", "ControlRequested"):
        assert set(defs[name]["required"]) == set(defs[name]["properties"]), name
    # A request body keeps its defaults optional.
    assert "adopt" not in defs["PreferenceUpdate"]["required"]

"""Write the REST API's OpenAPI schema to frontend/src/lib/openapi.json.

The REST bodies are pydantic models (``backend/schemas.py``), declared on each route as its
``response_model``; this is the schema the app serves at ``/openapi.json``, from an app built in
embedded mode and never started. The front end generates its REST types from this file
(``npm --prefix frontend run gen:api``, part of its build, with ``openapi-typescript``); ``make frames``
runs both steps, beside the WebSocket frames' (scripts/gen_frame_types.py).
tests/unit/backend/test_openapi.py fails when the committed file is stale.

    python -m scripts.gen_openapi          # rewrite the file (from the repository root)
    python -m scripts.gen_openapi --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from backend.config import Settings
from backend.main import create_app
from scripts import generated_file

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "frontend" / "src" / "lib" / "openapi.json"


def openapi_schema() -> dict[str, Any]:
    """The app's OpenAPI document. The settings are the defaults, not the environment's: the
    routes and their models do not depend on them, and the file must not either."""
    app = create_app(Settings.model_construct(), embedded_worker=False)
    return app.openapi()


def render() -> str:
    return json.dumps(openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated_file.main(SCHEMA_PATH, render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())

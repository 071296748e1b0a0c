"""Write the JSON Schema of every WebSocket frame to frontend/src/lib/frames.schema.json.

The frames are defined once, in Python: the client's in ``backend/schemas.py``, the server's in
``backend/frames.py``. The front end generates its TypeScript types from this file
(``npm --prefix frontend run gen:frames``, part of its build); ``make frames`` runs both steps.
tests/unit/backend/test_frames.py fails when the committed file is stale.

    python -m scripts.gen_frame_types          # rewrite the file (from the repository root)
    python -m scripts.gen_frame_types --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from backend.frames import frames_json_schema
from scripts import generated_file

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "frontend" / "src" / "lib" / "frames.schema.json"


def render() -> str:
    return json.dumps(frames_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated_file.main(SCHEMA_PATH, render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())

"""Write the JSON Schema of every WebSocket frame to frontend/src/lib/frames.schema.json.

The frames are defined once, in Python: the client's in ``backend/schemas.py``, the server's in
``backend/frames.py``. The front end generates its TypeScript types from this file
(``npm --prefix frontend run gen:frames``, part of its build); ``make frames`` runs both steps.
tests/unit/backend/test_frames.py fails when the committed file is stale.

    python -m scripts.gen_frame_types          # rewrite the file (from the repository root)
    python -m scripts.gen_frame_types --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.frames import frames_json_schema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "frontend" / "src" / "lib" / "frames.schema.json"


def render() -> str:
    return json.dumps(frames_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = render()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else None
    if args.check:
        if current != text:
            print(f"{SCHEMA_PATH} is stale: run `make frames`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

// Writes src/lib/frames.generated.ts, the TypeScript types of every WebSocket frame, from
// src/lib/frames.schema.json (itself generated from the backend's pydantic models by
// scripts/gen_frame_types.py; `make frames` runs both). `--check` exits 1 when the file is stale
// (src/lib/frames.test.ts runs it).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import { writeOrCheck } from './generated-file.mjs';

const lib = new URL('../src/lib/', import.meta.url);
const schemaPath = fileURLToPath(new URL('frames.schema.json', lib));
const outputPath = fileURLToPath(new URL('frames.generated.ts', lib));

const BANNER = `// Generated from frames.schema.json by scripts/gen-frames.mjs (npm run gen:frames): do not edit.
// The frames are defined in backend/frames.py (server -> client) and backend/schemas.py (client -> server).`;

export async function generate() {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  return compile(schema, 'Frame', {
    bannerComment: BANNER,
    additionalProperties: false,
    unreachableDefinitions: true,
    unknownAny: true,
    style: { singleQuote: true, printWidth: 120 },
  });
}

writeOrCheck(outputPath, await generate(), 'npm run gen:frames');

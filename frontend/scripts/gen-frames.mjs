// Writes src/lib/frames.generated.ts, the TypeScript types of every WebSocket frame, from
// src/lib/frames.schema.json (itself generated from the backend's pydantic models by
// scripts/gen_frame_types.py; `make frames` runs both). `--check` exits 1 when the file is stale
// (src/lib/frames.test.ts runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

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

const code = await generate();
let current = null;
try {
  current = readFileSync(outputPath, 'utf8');
} catch {
  // not generated yet
}
if (process.argv.includes('--check')) {
  if (current !== code) {
    console.error(`${outputPath} is stale: run \`npm run gen:frames\``);
    process.exit(1);
  }
} else if (current !== code) {
  writeFileSync(outputPath, code);
  console.log(`wrote ${outputPath}`);
}

// Writes src/lib/api.generated.ts, the TypeScript types of the REST API's bodies, every request and
// response body under `components["schemas"]`, from src/lib/openapi.json (itself the
// FastAPI app's OpenAPI schema, written by scripts/gen_openapi.py; `make frames` runs both).
// `--check` exits 1 when the file is stale (src/lib/api.test.ts runs it).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { writeOrCheck } from './generated-file.mjs';

const lib = new URL('../src/lib/', import.meta.url);
const schemaPath = fileURLToPath(new URL('openapi.json', lib));
const outputPath = fileURLToPath(new URL('api.generated.ts', lib));

const BANNER = `// Generated from openapi.json by scripts/gen-api.mjs (npm run gen:api): do not edit.
// The REST bodies are the pydantic models of backend/schemas.py, each route's response_model.
`;

export async function generate() {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  // The bodies only (`components["schemas"]`): the app calls its paths through api-client.ts, and
  // the per-path types would be a thousand lines of near-identical blocks.
  const ast = await openapiTS({ ...schema, paths: {} }, { alphabetize: true, defaultNonNullable: false });
  return BANNER + astToString(ast);
}

writeOrCheck(outputPath, await generate(), 'npm run gen:api');

// @vitest-environment node
// api.generated.ts is generated from openapi.json (the backend's OpenAPI schema); this fails when
// it was not regenerated after the schema changed (`npm run gen:api`).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/gen-api.mjs', import.meta.url));

describe('api.generated.ts', () => {
  // openapi-typescript takes a few seconds to load on a busy machine: more than vitest's default 5 s.
  it('is up to date with openapi.json', { timeout: 60_000 }, () => {
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});

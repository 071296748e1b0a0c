// @vitest-environment node
// frames.generated.ts is generated from frames.schema.json (the backend's pydantic frames); this
// fails when it was not regenerated after the schema changed (`npm run gen:frames`).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/gen-frames.mjs', import.meta.url));

describe('frames.generated.ts', () => {
  it('is up to date with frames.schema.json', () => {
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});

// The command line of a script that writes one generated, committed file (scripts/gen-*.mjs):
// rewrite it when it changed, or with `--check` exit 1 when it is stale (a vitest test runs that).
import { readFileSync, writeFileSync } from 'node:fs';

export function writeOrCheck(outputPath, code, command) {
  let current = null;
  try {
    current = readFileSync(outputPath, 'utf8');
  } catch {
    // not generated yet
  }
  if (process.argv.includes('--check')) {
    if (current !== code) {
      console.error(`${outputPath} is stale: run \`${command}\``);
      process.exit(1);
    }
  } else if (current !== code) {
    writeFileSync(outputPath, code);
    console.log(`wrote ${outputPath}`);
  }
}

// @vitest-environment node
// Drift guard: docs/protocol.md is the contract the backend implements; this test reads its
// tables and fails when src/lib/protocol.ts names a frame or a field differently.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_FRAME_FIELDS, CLOSE_CODES, ERROR_CODES, PROTOCOL_VERSION, RECORD_FIELDS, SERVER_FRAME_FIELDS } from './protocol';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');

function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no heading "${heading}"`);
  const rest = doc.slice(start + heading.length + 2);
  const next = rest.search(/\n#{2,3} /);
  return next < 0 ? rest : rest.slice(0, next);
}

/** Splits `a, b: {c, d}, e` at the commas that are not inside brackets or quotes. */
function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (const char of body) {
    if (char === '"') inString = !inString;
    if (!inString && '[{('.includes(char)) depth += 1;
    if (!inString && ']})'.includes(char)) depth -= 1;
    if (char === ',' && depth === 0 && !inString) {
      parts.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** The frames of a "frame | meaning" table: `{"type": "x", "a", "b"?: ...}` → {x: [a, b]}. */
function framesIn(heading: string): Record<string, string[]> {
  const frames: Record<string, string[]> = {};
  for (const line of section(heading).split('\n')) {
    const cell = /^\| `(\{"type".*?\})` \|/.exec(line)?.[1];
    if (!cell) continue;
    const [typePart, ...fieldParts] = splitTopLevel(cell.slice(1, -1));
    const type = /^"type":\s*"(\w+)"$/.exec(typePart ?? '')?.[1];
    if (!type) throw new Error(`cannot read the frame type of ${cell}`);
    frames[type] = fieldParts.map((part) => {
      const name = /^"(\w+)"/.exec(part)?.[1];
      if (!name) throw new Error(`cannot read a field name in ${part}`);
      return name;
    });
  }
  return frames;
}

/** The fields of a record written as `` `Name {a, b: ..., c}` `` anywhere in the document. */
function recordFields(name: string): string[] {
  const match = new RegExp('`' + name + ' \\{(.*?)\\}`').exec(doc);
  if (!match?.[1]) throw new Error(`docs/protocol.md does not describe ${name}`);
  return splitTopLevel(match[1]).map((part) => /^(\w+)/.exec(part)?.[1] ?? part);
}

const sorted = (names: readonly string[]) => [...names].sort();

describe('protocol.ts matches docs/protocol.md', () => {
  it('has the same client → server frames and fields', () => {
    const documented = framesIn('### Client → server');
    documented.auth = ['token']; // the auth frame is described in "Opening", not in the table
    expect(Object.keys(documented).sort()).toEqual(Object.keys(CLIENT_FRAME_FIELDS).sort());
    for (const [type, fields] of Object.entries(documented)) {
      expect(sorted(fields), type).toEqual(sorted(CLIENT_FRAME_FIELDS[type as keyof typeof CLIENT_FRAME_FIELDS]));
    }
  });

  it('has the same server → client frames and fields, ready included', () => {
    const documented = framesIn('### Server → client');
    const ready = /`(\{"type": "ready".*?\]\})`/.exec(section('### Opening'))?.[1];
    expect(ready, 'the ready frame in "Opening"').toBeDefined();
    documented.ready = splitTopLevel(ready!.slice(1, -1))
      .slice(1)
      .map((part) => /^"(\w+)"/.exec(part)![1]!);
    expect(Object.keys(documented).sort()).toEqual(Object.keys(SERVER_FRAME_FIELDS).sort());
    for (const [type, fields] of Object.entries(documented)) {
      expect(sorted(fields), type).toEqual(sorted(SERVER_FRAME_FIELDS[type as keyof typeof SERVER_FRAME_FIELDS]));
    }
  });

  it('has the same REST records', () => {
    for (const [name, fields] of Object.entries(RECORD_FIELDS)) {
      expect(sorted(recordFields(name)), name).toEqual(sorted(fields));
    }
  });

  it('knows every error code and close code', () => {
    const codes = [...section('### Error codes (`error` frames)').matchAll(/`(\w+)`/g)].map((m) => m[1]);
    expect(sorted(codes.filter((code) => code !== 'error') as string[])).toEqual(sorted(ERROR_CODES));
    const closeCodes = [...section('### Close codes').matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
    expect(closeCodes.sort()).toEqual(Object.values(CLOSE_CODES).sort());
  });

  it('speaks the documented protocol version', () => {
    expect(doc).toMatch(new RegExp(`# Attune client protocol \\(version ${PROTOCOL_VERSION}\\)`));
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, errorCodeForProtocol, TributaryError, type ErrorCode } from '../../src/errors';
import { renderErrorsDoc } from '../../scripts/generate-errors-doc';

const entries = Object.entries(ERROR_CODES) as [ErrorCode, { protocol?: number; action: string; doc: string }][];
const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

describe('error codes', () => {
  it.each(entries.map(([c]) => c))('%s is UPPER_SNAKE_CASE', (code) => {
    expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it('has unique protocol numbers, 100-199 for the connection and 200-299 for a session', () => {
    const numbers = entries.filter(([, i]) => i.protocol !== undefined).map(([, i]) => i.protocol!);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n >= 100 && n <= 299).toBe(true);
    for (const n of numbers) expect(Number.isInteger(n)).toBe(true);
  });

  it('gives every code an action and a one-line doc', () => {
    for (const [, info] of entries) {
      expect(['retry', 'reset', 'fatal']).toContain(info.action);
      expect(info.doc.length).toBeGreaterThan(10);
      expect(info.doc).not.toMatch(/\n/);
    }
  });

  it('maps protocol numbers back to codes', () => {
    for (const [code, info] of entries) if (info.protocol !== undefined) expect(errorCodeForProtocol(info.protocol)).toBe(code);
    expect(errorCodeForProtocol(299)).toBeUndefined();
  });

  it('carries code, action and protocol number on TributaryError', () => {
    const e = new TributaryError('BAD_CHANGESET', 'x');
    expect([e.code, e.action, e.protocolCode, e.name, e instanceof Error]).toEqual(['BAD_CHANGESET', 'reset', 212, 'TributaryError', true]);
  });
});

describe('docs/errors.md', () => {
  it.each(entries)('mentions %s with its number and action', (code, info) => {
    const line = doc.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${code}\``));
    expect(line).toBeDefined();
    if (info.protocol !== undefined) expect(line).toContain(`| ${info.protocol} |`);
    expect(line).toContain(`| ${info.action} |`);
  });

  it('is the output of scripts/generate-errors-doc.ts (run `npx tsx scripts/generate-errors-doc.ts` after editing src/errors.ts)', () => {
    expect(doc).toBe(renderErrorsDoc());
  });
});

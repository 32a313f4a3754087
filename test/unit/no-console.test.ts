import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

/**
 * Library code reports through the Logger it is given (src/shared/logger.ts; libraries take an
 * optional `log`) and never writes to the console: a program embedding Tributary owns its
 * output. The CLI (src/cli) prints by design; a function file's `console` is its own log
 * (src/functions/function-log.ts), which is not the global one.
 */
const EXEMPT_DIRS = ['src/cli/'];

/** The text without comments and string literals (so `'console'` and `// console.log` do not count). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) => (m.startsWith('/') ? ' ' : "''"));
}

/** Uses of the global `console` (not a property, parameter or method named `console`). */
export function consoleUses(text: string): string[] {
  const out: string[] = [];
  for (const line of code(text).split('\n')) if (/(?<![.\w$])console\b(?!\s*\??\s*[:(])/.test(line)) out.push(line.trim());
  return out;
}

function libraryFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('src');
  walk('connectors');
  return out.filter((f) => !EXEMPT_DIRS.some((d) => f.startsWith(d)));
}

test('library code (src/ but src/cli, connectors/) never uses the global console', () => {
  const found = libraryFiles().flatMap((f) => consoleUses(fs.readFileSync(path.join(REPO, f), 'utf8')).map((line) => `${f}: ${line}`));
  expect(found).toEqual([]);
});

test('the check sees console calls and console passed as a value, but not comments, strings or a member named console', () => {
  const flagged = consoleUses(
    [
      "console.error('x', e);",
      'const log = options.log ?? console;',
      'new Notifier({ log: console });',
      "// console.log('in a comment')",
      "const s = 'console.log';",
      'const c = log.console();',
      'function f(options: { console: Console }) { return options.console; }',
      'console(): Console {',
    ].join('\n'),
  );
  expect(flagged).toEqual(["console.error('', e);", 'const log = options.log ?? console;', 'new Notifier({ log: console });']);
});

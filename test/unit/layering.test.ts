import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLayers, importsOf } from '../../scripts/check-layers';

const REPO = path.resolve(__dirname, '..', '..');

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-layers-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

test('the repository keeps the layering rule and has no import cycles', () => {
  expect(checkLayers(REPO)).toEqual([]);
});

test('an upward import added to a copy of the repository fails the check', () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-layers-copy-'));
  try {
    for (const dir of ['src', 'connectors']) fs.cpSync(path.join(REPO, dir), path.join(copy, dir), { recursive: true });
    const file = path.join(copy, 'src', 'store', 'index.ts');
    fs.appendFileSync(file, "\nexport { Server } from '../server';\n");
    const violations = checkLayers(copy);
    expect(violations).toEqual([{ kind: 'upward', file: 'src/store/index.ts', detail: 'store → server (src/server/index.ts)' }]);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('upward imports, impure core modules, cross-connector imports and cycles (type-only too) are reported', () => {
  const root = tree({
    'src/shared/log.ts': 'export const x = 1;\n',
    'src/errors.ts': "import { x } from './shared/log';\nexport const e = x;\n",
    'src/model/a.ts': "import type { B } from '../store/b';\nimport { x } from '../shared/log';\nexport type A = B | typeof x;\n",
    'src/store/b.ts': "import { e } from '../errors';\nexport type B = typeof e;\n",
    'src/store/c.ts': "import type { D } from './d';\nexport interface C { d?: D }\n",
    'src/store/d.ts': "import type { C } from './c';\nexport interface D { c?: C }\n",
    'src/merge/m.ts': "import * as fs from 'node:fs';\nexport const m = fs;\n",
    'src/client/ok.ts': "// import '../server/s' in a comment is not an import\nimport { B } from '../store/b';\nconst lazy = () => require('../realm/r');\nexport { B, lazy };\n",
    'src/realm/r.ts': 'export const r = 1;\n',
    'src/server/s.ts': "export const s = 1;\n",
    'connectors/postgres/p.ts': "import { s } from '../../src/server/s';\nimport { q } from '../mongodb/q';\nexport const p = [s, q];\n",
    'connectors/mongodb/q.ts': "export const q = 1;\n",
  });
  try {
    const found = checkLayers(root).map((v) => `${v.kind} ${v.file}: ${v.detail}`).sort();
    expect(found).toEqual(
      [
        'upward src/model/a.ts: model → store (src/store/b.ts)',
        'impure src/merge/m.ts: pure layer \'merge\' imports \'node:fs\'',
        'upward connectors/postgres/p.ts: connector → server (src/server/s.ts)',
        "upward connectors/postgres/p.ts: connector 'postgres' imports connector 'mongodb' (connectors/mongodb/q.ts)",
        'cycle src/store/c.ts: import cycle: src/store/c.ts → src/store/d.ts → src/store/c.ts',
      ].sort(),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('import forms: static, type-only, re-exports, require and dynamic import; comments ignored', () => {
  const text = [
    "import a from './a';",
    "import type { B } from './b';",
    "import './side-effect';",
    "export { c } from './c';",
    "export * from './d';",
    "const e = require('./e');",
    "const f = await import('./f');",
    '/* import g from "./g"; */',
    "// import h from './h';",
    "const url = 'http://x/y'; // a URL in a string is not a comment start for the import",
  ].join('\n');
  expect(importsOf(text)).toEqual(['./a', './b', './side-effect', './c', './d', './e', './f']);
});

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// better-sqlite3 12 aborted the whole process on Node 24.19+ ("Assertion failed: (env) !=
// nullptr" from a Statement destructor) once garbage collection freed statements on its own; a
// loop of forced gc() calls did not show it. The storage driver must load on the running Node and
// survive that pattern for several seconds. It runs in a child so an abort is a failed assertion
// here, not a dead jest worker.

test('the storage driver survives statements and iterators dropped under ordinary GC on this Node', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-gc-'));
  try {
    const script = path.join(__dirname, '..', 'fixtures', 'sqlite-gc-stress.js');
    const result = spawnSync(process.execPath, [script, path.join(dir, 'stress.db'), '4000'], {
      encoding: 'utf8',
      timeout: 45_000,
    });
    expect({ status: result.status, signal: result.signal, stderr: result.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const report = JSON.parse(result.stdout.trim()) as { node: string; statements: number; iterators: number; rows: number };
    expect(report.node).toBe(process.versions.node);
    // Enough native objects went through the collector for the old abort to have shown (it took
    // well under 10,000 on Node 24).
    expect(report.statements).toBeGreaterThan(10_000);
    expect(report.iterators).toBe(report.statements);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** examples/legacy-sqlserver-bridge/demo.ts end to end (against the scripted TDS server, or MSSQL_URL's SQL Server). */
test('examples/legacy-sqlserver-bridge/demo.ts: load, a SQL transaction to a client, client edits to SQL Server with computed values filled back', () => {
  const demo = path.resolve(__dirname, '..', '..', 'examples', 'legacy-sqlserver-bridge', 'demo.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', demo], { encoding: 'utf8', timeout: 120_000 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/client \/shop\/EU: 2 customers, 2 orders, 4 lines; line 3\|1 = 12 × 1\.2500 = 15\.0000/);
  expect(r.stdout).toMatch(/client sees: order \d+ \(open\) with lines \d+\|1, \d+\|2/);
  expect(r.stdout).toMatch(/SQL Server: customer 1000 'Dora from the app'; line 3\|1 qty 20 total 25\.0000; order 3 cancelled/);
  expect(r.stdout).toMatch(/client sees what SQL Server computed: line 3\|1 total 25\.0000/);
  expect(r.stdout).toMatch(/, 0 rejected\ndone\n$/);
}, 150_000);

/**
 * `npm run bench -- <name> [options]`: runs one benchmark (or all with no name) and prints its
 * figures with ratios against raw baselines measured in the same run.
 */
const BENCHMARKS: Record<string, () => Promise<{ main: (argv: string[]) => Promise<void> }>> = {
  sync: () => import('./sync'),
  query: () => import('./query'),
  dequeuer: () => import('./dequeuer'),
  notifier: () => import('./notifier'),
  postgres: () => import('./postgres'),
  mongodb: () => import('./mongodb'),
  sqlserver: () => import('./sqlserver'),
  'offline-merge': () => import('./offline-merge'),
  peers: () => import('./peers'),
};

async function run(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === '--help' || name === '-h') {
    console.log(`usage: npm run bench -- [${Object.keys(BENCHMARKS).join('|')}] [options]`);
    return;
  }
  const names = name ? [name] : Object.keys(BENCHMARKS);
  for (const n of names) {
    const load = BENCHMARKS[n];
    if (!load) {
      console.error(`unknown benchmark '${n}'; known: ${Object.keys(BENCHMARKS).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    console.log(`\n=== ${n} ===`);
    await (await load()).main(rest);
  }
}

run().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

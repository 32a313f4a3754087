import type { Adapter } from '../../src/adapter';
import { TributaryError } from '../../src/errors';
import type { Realm } from '../../src/realm';

/** What `quiesce` reads of a running connector. */
export interface QuiesceParts {
  /** Database → realm: every change committed before the call is in the realms and acknowledged. */
  caughtUp(timeoutMs: number): Promise<void>;
  adapter: Adapter | null;
  sink: { realm(path: string): Realm; openPaths: string[]; uploaded(path: string, timeoutMs: number): Promise<void> } | null;
  apply: { idle: boolean; status: unknown } | null;
  /** Changes with every transaction either way (`captured/applied/rejected`): equal twice in a row means settled. */
  progress(): string;
}

/**
 * Resolves when both directions are settled: every database change committed before the call is
 * in the realms and acknowledged, and every realm change the server holds for the mapped realms is
 * applied to the database (and whatever that moved, in turn) — repeated until a round changes
 * nothing.
 */
export async function quiesce(parts: () => QuiesceParts, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  let last = '';
  for (let round = 0; ; round++) {
    await parts().caughtUp(left());
    let p = parts();
    for (const path of p.adapter?.paths ?? []) await p.sink?.realm(path).syncSession?.downloadAllServerChanges(left());
    for (;;) {
      p = parts();
      if (!p.apply || (p.apply.idle && !(p.adapter?.paths ?? []).some((path) => p.adapter!.pendingCount(path) > 0))) break;
      if (Date.now() > deadline) throw new TributaryError('TIMEOUT', `the connector did not settle in ${timeoutMs} ms (apply: ${JSON.stringify(p.apply.status)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    p = parts();
    for (const path of p.sink?.openPaths ?? []) await p.sink!.uploaded(path, left());
    const now = parts().progress();
    if (now === last && round > 0) return;
    last = now;
  }
}

/** The status fields {@link quiesceConnector} compares between rounds. */
export interface QuiesceStatus {
  transactions: number;
  apply: { applied: number; rejected: number } | null;
}

/**
 * `quiesce` for a connector of the kit: its `caughtUp`, the parts `parts()` returns as they are
 * now (they change across restarts), and settled once captured, applied and rejected transactions
 * stay the same for a round.
 */
export function quiesceConnector(
  connector: { caughtUp(timeoutMs: number): Promise<void>; status(): QuiesceStatus },
  parts: () => Pick<QuiesceParts, 'adapter' | 'sink' | 'apply'>,
  timeoutMs: number,
): Promise<void> {
  return quiesce(
    () => ({
      ...parts(),
      caughtUp: (ms) => connector.caughtUp(ms),
      progress: () => {
        const s = connector.status();
        return `${s.transactions}/${s.apply?.applied}/${s.apply?.rejected}`;
      },
    }),
    timeoutMs,
  );
}

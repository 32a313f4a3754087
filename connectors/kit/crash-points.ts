/**
 * Deterministic crash points for the conformance suite's SIGKILL tests (test/connectors): with
 * `TRIBUTARY_CRASH_AT=<point>:<n>` in its environment, a connector process kills itself (SIGKILL)
 * the n-th time execution passes `<point>`. Random kills rarely land in the narrow windows where
 * exactly-once depends on a position stored in the same transaction as the data; these points put
 * a kill there on purpose. Unset (always, outside tests), a call is one comparison.
 *
 * - `apply-committed`: the database committed an apply batch with its position; the Adapter has
 *   not advanced past it. The next life gets the batch again and must skip it by the stored position.
 * - `capture-acknowledged`: the server acknowledged a source transaction's realm writes; the
 *   database has not been told it may release it. The next life gets it again and must skip it by
 *   the realm's stored position.
 */
export type CrashPoint = 'apply-committed' | 'capture-acknowledged';

const spec = /^([a-z-]+):(\d+)$/.exec(process.env.TRIBUTARY_CRASH_AT ?? '');
const armed = spec ? { point: spec[1], left: Number(spec[2]) } : null;

export function crashPoint(point: CrashPoint): void {
  if (armed === null || armed.point !== point) return;
  if (--armed.left > 0) return;
  process.kill(process.pid, 'SIGKILL');
}

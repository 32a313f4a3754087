import { configTests } from './conformance/config';
import { convergenceTests } from './conformance/convergence';
import { crashTests } from './conformance/crash';
import { loadAndLiveTests } from './conformance/load-and-live';
import { schemaTests } from './conformance/schema';
import { stoppedTests } from './conformance/stopped';
import type { ConformanceDriver } from './driver';
import { Harness } from './harness';

/**
 * The connector conformance suite (conventions §14; docs/connectors/kit.md): the same tests for
 * every connector, run against its real database through a {@link ConformanceDriver}.
 * test/connectors/postgres.test.ts runs it for PostgreSQL; a new connector adds its driver and a
 * test file calling `describeConformance(itsDriver)`.
 *
 * - initial load in every placement mode (fixed path, path template, followed reference,
 *   function), with load progress;
 * - live changes both ways, moves between realms included;
 * - one source transaction = one realm transaction per realm it touches;
 * - no echo, both ways;
 * - exactly once across SIGKILL loops, both directions, counters included;
 * - convergence under concurrent writers on both sides, for each conflict policy, and the
 *   deterministic race while stopped;
 * - additive schema changes both ways;
 * - deletes while stopped, cascades and followed rows included;
 * - bad configs: every problem at once with codes and paths, mapping errors, an unreachable database.
 */
export function describeConformance(driver: ConformanceDriver): void {
  const skip = driver.skipReason();
  const describeIt = skip === null ? describe : describe.skip;
  // eslint-disable-next-line no-console
  if (skip !== null) console.warn(`skipping the ${driver.type} connector conformance suite: ${skip}`);
  describeIt(`connector conformance: ${driver.type}`, () => {
    let harness: Harness | null = null;
    const h = (): Harness => {
      if (!harness) throw new Error('the conformance harness did not open');
      return harness;
    };
    beforeAll(async () => {
      harness = await Harness.open(driver);
    });
    afterAll(async () => {
      await harness?.dispose();
    });
    describe('initial load, live changes both ways, transactions, no echo', () => loadAndLiveTests(h));
    describe('exactly once across SIGKILL loops', () => crashTests(h));
    describe.each(['database-wins', 'realm-wins'] as const)('convergence under concurrent writers: %s', (policy) => convergenceTests(h, policy));
    describe('additive schema changes', () => schemaTests(h));
    describe('deletes while stopped', () => stoppedTests(h));
    describe('bad configs', () => configTests(h));
  });
}

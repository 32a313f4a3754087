import * as net from 'node:net';
import { Client } from 'pg';
import { classify, fromDriverError } from '../../connectors/postgres/errors';
import { formatBytes, slotWarnings, type SlotStatus } from '../../connectors/postgres/operations';
import { TributaryError } from '../../src/errors';

const sqlstate = (code: string) => Object.assign(new Error(`server error ${code}`), { code, severity: 'ERROR' });

describe('classify(): transient or permanent, by driver code', () => {
  test.each([
    ['08000', 'connection exception'],
    ['08003', 'connection does not exist'],
    ['08006', 'connection failure'],
    ['08001', 'cannot establish'],
    ['53300', 'too many connections'],
    ['53400', 'configuration limit (max_replication_slots)'],
    ['53100', 'disk full'],
    ['57P01', 'admin shutdown (pg_terminate_backend)'],
    ['57P02', 'crash shutdown'],
    ['57P03', 'cannot connect now (starting up)'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['55006', 'slot active for another walsender (going away)'],
    ['58030', 'I/O error'],
  ])('SQLSTATE %s (%s) is transient', (code) => {
    expect(classify(sqlstate(code))).toBe('transient');
    expect(fromDriverError(sqlstate(code), 'streaming').code).toBe('CONNECTOR_SOURCE_UNAVAILABLE');
  });

  test.each([
    ['42704', 'undefined object (publication or slot dropped)'],
    ['42P01', 'undefined table'],
    ['42501', 'insufficient privilege'],
    ['28000', 'invalid authorization (pg_hba)'],
    ['28P01', 'invalid password'],
    ['3D000', 'no such database'],
    ['55000', 'object not in prerequisite state (slot invalidated)'],
    ['57P04', 'database dropped'],
    ['58P01', 'requested WAL segment already removed'],
    ['08P01', 'protocol violation'],
    ['XX000', 'internal error'],
    ['22P02', 'invalid text representation'],
  ])('SQLSTATE %s (%s) is permanent', (code) => {
    expect(classify(sqlstate(code))).toBe('permanent');
    const wrapped = fromDriverError(sqlstate(code), 'streaming');
    expect(wrapped.code).toBe('CONNECTOR_SOURCE_FAILED');
    expect(wrapped.message).toContain(`[${code}]`);
  });

  test.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND'])('network error %s is transient', (code) => {
    expect(classify(Object.assign(new Error(`connect ${code}`), { code, errno: -1, syscall: 'connect' }))).toBe('transient');
  });

  test('a socket closed without a code, a wrapped cause and an AggregateError are judged by what they carry', () => {
    expect(classify(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classify(new Error('boom', { cause: sqlstate('57P01') }))).toBe('transient');
    expect(classify(new Error('boom', { cause: sqlstate('42704') }))).toBe('permanent');
    expect(classify(new AggregateError([sqlstate('28P01'), Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe('transient');
    expect(classify(new AggregateError([sqlstate('28P01')]))).toBe('permanent');
    expect(classify(new Error('something else'))).toBe('permanent');
    expect(classify('a string')).toBe('permanent');
  });

  test('coded errors classify by their action', () => {
    expect(classify(new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', 'x'))).toBe('transient');
    expect(classify(new TributaryError('TIMEOUT', 'x'))).toBe('transient');
    expect(classify(new TributaryError('CONNECTOR_SOURCE_FAILED', 'x'))).toBe('permanent');
    expect(classify(new TributaryError('PG_SLOT_INVALID', 'x'))).toBe('permanent');
    expect(classify(new TributaryError('PG_SLOT_ACTIVE', 'x'))).toBe('permanent');
  });

  test('a real refused connection from node-postgres is transient', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const client = new Client({ host: '127.0.0.1', port, user: 'nobody', database: 'none', connectionTimeoutMillis: 20_000 });
    const error = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classify(error)).toBe('transient');
  });
});

describe('slotWarnings()', () => {
  const GiB = 1024 ** 3;
  const slot = (over: Partial<SlotStatus>): SlotStatus => ({
    name: 'tributary_x',
    exists: true,
    active: true,
    activePid: 42,
    database: 'db',
    restartLsn: '0/1000000',
    confirmedFlushLsn: '0/1000100',
    walStatus: 'reserved',
    safeWalSize: null,
    retainedBytes: 4096,
    lagBytes: 100,
    ...over,
  });
  const kinds = (s: SlotStatus, budget = GiB) => slotWarnings(s, budget).map((w) => w.kind);

  test('an active slot within budget and reserved: nothing to say', () => {
    expect(kinds(slot({}))).toEqual([]);
    expect(kinds(slot({ walStatus: 'extended' }))).toEqual([]);
    expect(kinds(slot({ exists: false, active: false, retainedBytes: null, walStatus: null }))).toEqual([]);
  });

  test('over the retained-WAL budget, unreserved, lost, inactive', () => {
    expect(kinds(slot({ retainedBytes: GiB + 1 }))).toEqual(['retained-over-budget']);
    expect(kinds(slot({ retainedBytes: GiB }))).toEqual([]);
    expect(kinds(slot({ walStatus: 'unreserved', safeWalSize: -1024 }))).toEqual(['wal-unreserved']);
    expect(kinds(slot({ walStatus: 'lost' }))).toEqual(['wal-lost']);
    expect(kinds(slot({ active: false, activePid: null, retainedBytes: 3 * GiB, walStatus: 'unreserved' }))).toEqual(['wal-unreserved', 'retained-over-budget', 'inactive']);
  });

  test('messages name the slot, the amount and what to do', () => {
    const [over] = slotWarnings(slot({ retainedBytes: 1.5 * GiB, active: false }), GiB);
    expect(over!.message).toBe('replication slot tributary_x retains 1.5 GiB of WAL, over the retainedWalWarnBytes budget of 1.0 GiB (no connector is streaming from it)');
    const [unreserved] = slotWarnings(slot({ walStatus: 'unreserved', safeWalSize: 0 }), GiB);
    expect(unreserved!.message).toMatch(/past max_slot_wal_keep_size \(safe_wal_size 0 bytes\): the next checkpoint may invalidate it/);
    expect(slotWarnings(slot({ walStatus: 'lost' }), GiB)[0]!.message).toMatch(/tributary connector postgres reset/);
  });

  test('formatBytes', () => {
    expect([0, 1023, 1024, 1536, 5 * 1024 * 1024, GiB, 2.25 * 1024 * GiB].map(formatBytes)).toEqual(['0 bytes', '1023 bytes', '1.0 KiB', '1.5 KiB', '5.0 MiB', '1.0 GiB', '2.3 TiB']);
  });
});

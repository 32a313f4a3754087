import { Int32, Long } from 'mongodb';
import { EventGroup, type ChangeEvent } from '../../connectors/mongodb/capture';

/**
 * A MongoDB transaction of the connector's own is known by its write of the apply position; that
 * write also says which realm, and through which realm transaction, it applied — what capture
 * tells the realm-wins protection (kit conflict.ts) when it passes the transaction.
 */

const ns = { positions: 'tributary_apply_positions', ownPrefix: 'shop:' };
const positionEvent = (operationType: 'insert' | 'update', id: string, txn: unknown): ChangeEvent =>
  ({
    _id: { _data: '00' },
    operationType,
    ns: { db: 'd', coll: ns.positions },
    documentKey: { _id: id },
    ...(operationType === 'insert' ? { fullDocument: { _id: id, txn } } : { updateDescription: { updatedFields: { txn, updatedAt: new Date() }, removedFields: [] } }),
  }) as unknown as ChangeEvent;

test.each([
  ['a number', 7],
  ['an Int32', new Int32(7)],
  ['a Long', Long.fromNumber(7)],
])('the apply position an own transaction wrote (%s, insert or update) names its realm and last realm transaction', (_kind, txn) => {
  for (const op of ['insert', 'update'] as const) {
    const g = new EventGroup(100, ns);
    g.add({ _id: { _data: '01' }, operationType: 'update', ns: { db: 'd', coll: 'item' }, documentKey: { _id: 1 } } as unknown as ChangeEvent);
    g.add(positionEvent(op, 'shop:/stores/1', txn));
    expect({ own: g.wroteOwnPosition, position: g.ownPosition }).toEqual({ own: true, position: { path: '/stores/1', through: 7 } });
  }
});

test("another connector's position, or none, is not an own position", () => {
  const other = new EventGroup(100, ns);
  other.add(positionEvent('update', 'mall:/stores/1', 7));
  expect({ own: other.wroteOwnPosition, position: other.ownPosition }).toEqual({ own: false, position: null });
  const none = new EventGroup(100, ns);
  none.add({ _id: { _data: '01' }, operationType: 'insert', ns: { db: 'd', coll: 'item' }, documentKey: { _id: 1 }, fullDocument: { _id: 1, txn: 3 } } as unknown as ChangeEvent);
  expect(none.ownPosition).toBeNull();
});

import type { DriverDatabase } from '../driver';
import { objectRows, pick, type Harness } from '../harness';

/**
 * Additive schema changes both ways: a column added to a mapped table becomes a property (its
 * values arrive with the rows), and a property a client adds to a mapped type becomes a column
 * (with `schemaChanges.addColumns`), its values written to the rows.
 */
export function schemaTests(h: () => Harness): void {
  const realmPath = '/cf/schema';
  let db: DriverDatabase;

  beforeAll(async () => {
    db = await h().database('schema');
    await db.createTable({ name: 'thing', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'label', type: 'string' }] });
    await db.transaction([1, 2].map((id) => ({ op: 'insert' as const, table: 'thing', row: { id, label: `thing ${id}` } })));
  });

  test('a new database column becomes a property; a new realm property becomes a column', async () => {
    const connector = await h().start(h().config(db, { name: 'cf_schema', realm: realmPath, schemaChanges: { addProperties: true, addColumns: true }, tables: { thing: { type: 'Thing' } } }));
    await db.addColumn('thing', { name: 'extra', type: 'string' });
    await db.transaction([
      { op: 'insert', table: 'thing', row: { id: 3, label: 'thing 3', extra: 'x' } },
      { op: 'update', table: 'thing', key: { id: 1 }, set: { extra: 'y' } },
    ]);
    await connector.quiesce(120_000);
    const reader = await h().client(realmPath);
    expect(objectRows(reader, 'Thing', ['label', 'extra'])).toEqual([
      { id: 1, label: 'thing 1', extra: 'y' },
      { id: 2, label: 'thing 2', extra: null },
      { id: 3, label: 'thing 3', extra: 'x' },
    ]);

    const stored = reader.schema.find((s) => s.name === 'Thing')!;
    const properties = Object.fromEntries(Object.entries(stored.properties).map(([name, p]) => [name, { type: p.type, optional: p.optional }]));
    const writer = await h().client(realmPath, [{ name: 'Thing', primaryKey: 'id', properties: { ...properties, color: { type: 'string', optional: true } } }]);
    writer.write(() => {
      writer.objectForPrimaryKey<Record<string, unknown>>('Thing', 2)!.color = 'red';
      writer.create('Thing', { id: 4, label: 'thing 4', color: 'blue' });
    });
    await writer.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(120_000);
    expect(await db.columnNames('thing')).toEqual(expect.arrayContaining(['id', 'label', 'extra', 'color']));
    expect(pick(await db.rows('thing', ['label', 'extra', 'color']), ['label', 'extra', 'color'])).toEqual([
      { id: 1, label: 'thing 1', extra: 'y', color: null },
      { id: 2, label: 'thing 2', extra: null, color: 'red' },
      { id: 3, label: 'thing 3', extra: 'x', color: null },
      { id: 4, label: 'thing 4', extra: null, color: 'blue' },
    ]);
    await connector.stop();
  }, 180_000);
}

import type { Adapter } from '../../src/adapter';
import { RealmSink as KitRealmSink, type RowLink, type SinkCodec, type SinkObserver as KitSinkObserver, type UnresolvedLinks as KitUnresolvedLinks } from '../kit/realm-sink';
import { rowKey, rowValues, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { lsnCodec, type Lsn } from './position';
import { mappingRealmSchema } from './schema-cache';

export type { PropertyShape } from '../kit/realm-sink';
export type UnresolvedLinks = KitUnresolvedLinks<ResolvedTable>;
export type SinkObserver = KitSinkObserver<ResolvedTable, RawRow>;

const NO_LINKS: readonly RowLink<ResolvedTable>[] = [];

/** PostgreSQL rows (column texts, absent = unchanged TOAST) for the kit's sink. */
export function pgSinkCodec(mapping: ResolvedMapping): SinkCodec<ResolvedTable, RawRow> {
  return {
    realmSchema: (path) => mappingRealmSchema(mapping, path) as { name: string; properties: Record<string, unknown> }[],
    tableOfType: (type) => mapping.byType.get(type),
    key: rowKey,
    values: rowValues,
    properties: (t) => t.columns.map((c) => c.property),
    links(t, row) {
      if (t.links.length === 0) return NO_LINKS;
      const out: RowLink<ResolvedTable>[] = [];
      for (const l of t.links) {
        const text = row[l.column];
        if (text === undefined) continue;
        const target = mapping.tables.get(l.targetTable)!;
        out.push({ property: l.property, target, key: text === null ? null : rowKey(target, { [target.keyColumns[0]]: text }) });
      }
      return out;
    },
  };
}

/** The kit's realm sink over PostgreSQL rows, with LSNs as positions. */
export class RealmSink extends KitRealmSink<ResolvedTable, RawRow, Lsn> {
  constructor(adapter: Adapter, mapping: ResolvedMapping, connector: string) {
    super(adapter, pgSinkCodec(mapping), lsnCodec, connector);
  }
}

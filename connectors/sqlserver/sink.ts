import type { Adapter } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import { keyText } from '../kit/keys';
import { PlacementRouter, type PlacementRows } from '../kit/placement';
import { RealmSink as KitRealmSink, type RowLink, type SinkCodec } from '../kit/realm-sink';
import type { Row } from './db';
import { COUNTER_TYPE, mappingRealmSchema, rowForPlacement, rowKey, rowValues, type ResolvedMapping, type ResolvedTable } from './mapping';
import { versionCodec, type Version } from './position';

/** SQL Server rows (plain values as mssql returns them) for the kit's sink. */
export function sinkCodec(mapping: ResolvedMapping): SinkCodec<ResolvedTable, Row> {
  return {
    realmSchema: (path) => mappingRealmSchema(mapping, path),
    tableOfType: (type) => mapping.byType.get(type),
    key: (t, row) => rowKey(t, row),
    values: rowValues,
    properties: (t) => t.columns.map((c) => c.property),
    links(t, row) {
      const out: RowLink<ResolvedTable>[] = [];
      for (const l of t.links) {
        const v = row[l.column];
        if (v === undefined) continue;
        const target = mapping.tables.get(l.targetTable)!;
        out.push({ property: l.property, target, key: v === null ? null : rowKey(target, { [target.keyColumns[0]!]: v }) });
      }
      return out;
    },
  };
}

function placementRows(): PlacementRows<ResolvedTable, Row> {
  return {
    templateValue: (t, row, column) => {
      const v = row[column];
      if (v === null || v === undefined) return null;
      const c = t.allColumns.find((x) => x.name === column);
      const plain = c ? c.type.fromDb(v) : v;
      return plain instanceof Date ? plain.toISOString() : String(plain);
    },
    followedKey(_t, row, column, target) {
      const v = row[column];
      return v === null || v === undefined ? null : rowKey(target, { [target.keyColumns[0]!]: v });
    },
    plainRow: (t, row) => rowForPlacement(t, row),
  };
}

export class RealmRouter extends PlacementRouter<ResolvedTable, Row> {
  constructor(mapping: ResolvedMapping) {
    super(mapping.tables, placementRows());
  }
}

/** A counter's base in a realm: the database value and applied total it last reflected (counters.ts). */
export interface CounterBase {
  base: number;
  applied: number;
  version: number;
}

/** The kit's realm sink over SQL Server rows, with Change Tracking versions as positions, plus counter bases. */
export class RealmSink extends KitRealmSink<ResolvedTable, Row, Version> {
  constructor(adapter: Adapter, mapping: ResolvedMapping, private readonly connectorName: string) {
    super(adapter, sinkCodec(mapping), versionCodec, connectorName);
  }

  counterId(t: ResolvedTable, key: ObjectKey, property: string): string {
    return `${this.connectorName}|${t.type}|${keyText(key)}|${property}`;
  }

  counterBase(realm: Realm, t: ResolvedTable, key: ObjectKey, property: string): CounterBase | null {
    const o = realm.objectForPrimaryKey<Record<string, unknown>>(COUNTER_TYPE, this.counterId(t, key, property));
    return o ? { base: Number(o.base), applied: Number(o.applied), version: Number(o.version) } : null;
  }

  /** Inside a write. */
  setCounterBase(realm: Realm, t: ResolvedTable, key: ObjectKey, property: string, b: CounterBase): void {
    realm.create(COUNTER_TYPE, { id: this.counterId(t, key, property), ...b }, 'modified');
  }

  /** Inside a write. */
  dropCounterBases(realm: Realm, t: ResolvedTable, key: ObjectKey): void {
    for (const c of t.columns) {
      if (!c.counter) continue;
      const o = realm.objectForPrimaryKey(COUNTER_TYPE, this.counterId(t, key, c.property));
      if (o) realm.delete(o);
    }
  }
}

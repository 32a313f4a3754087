import type { ResolvedOptions } from './config';
import type { ResolvedPlacement } from '../kit/placement';
import type { RealmColumnType } from './types';

/**
 * The mapping as resolved against the catalog (mapping.ts and side-list-mapping.ts build it):
 * tables, columns, links, placement and side-table lists. Types only, in one module because a
 * table and its side lists refer to each other.
 */

export interface ResolvedColumn {
  column: string;
  property: string;
  type: RealmColumnType;
  optional: boolean;
  toRealm?: (value: unknown) => unknown;
  fromRealm?: (value: unknown) => unknown;
  /** Increments travel as increments both ways (config `counter: true`). */
  counter?: boolean;
  /**
   * `GENERATED ALWAYS AS (…) STORED`: PostgreSQL computes it, apply never writes it, and pgoutput
   * does not send it (before PostgreSQL 18), so capture reads it back (readback.ts).
   */
  generated?: boolean;
}

export interface ResolvedLink {
  column: string;
  property: string;
  targetTable: string;
}

export type { ResolvedPlacement } from '../kit/placement';

export interface ResolvedTable {
  table: string;
  qualified: string;
  type: string;
  /** Every table column in catalog order (mapped or not: placement may read unmapped ones). */
  allColumns: { name: string; type: RealmColumnType; generated?: boolean }[];
  columns: ResolvedColumn[];
  byColumn: Map<string, ResolvedColumn>;
  /** Columns forming the realm key, in order. */
  keyColumns: string[];
  /** The realm primary-key property: the single key column's property, or the composite key property. */
  keyProperty: string;
  composite: boolean;
  links: ResolvedLink[];
  placement: ResolvedPlacement;
  partitioned: boolean;
  /** Where rows of this table may live: one fixed path, or '*' (partitioned). */
  family: string;
  /** List properties kept in side tables (side-lists.ts). */
  lists?: ResolvedSideList[];
  /** Mapped generated columns (a subset of `columns`), read back after capture writes a row. */
  generated: ResolvedColumn[];
}

export interface ResolvedMapping {
  tables: Map<string, ResolvedTable>;
  byType: Map<string, ResolvedTable>;
  /** Tables in an order where link targets come first. */
  loadOrder: ResolvedTable[];
  options: ResolvedOptions;
}

/** Text values of one row by column name; absent = not sent (unchanged TOAST). */
export type RawRow = Record<string, string | null | undefined>;

/** What `tables.<owner>.lists.<property>` resolves to. */
export interface ResolvedSideList {
  owner: ResolvedTable;
  property: string;
  table: string;
  qualified: string;
  ownerColumn: string;
  valueColumn: string;
  /** null: ordered by value, edited as a set. */
  positionColumn: string | null;
  /** Columns identifying a side row in deletes: the primary key, the replica identity index, or every column (REPLICA IDENTITY FULL without a key). */
  identityColumns: string[];
  valueType: RealmColumnType;
  valueOptional: boolean;
  /** The mapped table the value column references (a list of links), or null (a list of primitives). */
  target: ResolvedTable | null;
  /** A unique index covers the position column: moves go through negative positions first. */
  positionUnique: boolean;
}


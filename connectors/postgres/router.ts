import { PlacementRouter, type PlacementRows } from '../kit/placement';
import { rowForPlacement, rowKey, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { SideLists } from './side-lists';

/** Rows of PostgreSQL (column texts) for the kit's placement router. */
function pgPlacementRows(): PlacementRows<ResolvedTable, RawRow> {
  return {
    templateValue: (_t, row, column) => row[column] ?? null,
    followedKey(_t, row, column, target) {
      const text = row[column];
      return text === null || text === undefined ? null : rowKey(target, { [target.keyColumns[0]]: text });
    },
    plainRow: (t, row) => rowForPlacement(t, row),
  };
}

/**
 * Rows → realm paths: the kit's {@link PlacementRouter} (fixed paths, templates, `follow`,
 * functions, with the durable key → path index), plus the side-list index (side rows per owner),
 * shared by capture, load and apply like the key → path index.
 */
export class RealmRouter extends PlacementRouter<ResolvedTable, RawRow> {
  readonly lists: SideLists;

  constructor(mapping: ResolvedMapping) {
    super(mapping.tables, pgPlacementRows());
    this.lists = new SideLists(mapping, this);
  }

  override get indexedRows(): number {
    return super.indexedRows + this.lists.size;
  }
}

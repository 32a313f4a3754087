import { type ObjectKey, type ObjectSchema, keyString } from '../model';
import type { ObjectRecord, StateStore } from './state';

/** An object as the buffer holds it: its record (null once deleted) and whether the base lags. */
interface Held {
  id: ObjectKey;
  record: ObjectRecord | null;
  dirty: boolean;
  /** Deleted, then created again: the base row goes first, so the new one takes the end of the creation order. */
  recreated?: boolean;
}

/**
 * A write-back layer over a {@link StateStore} for one transaction: object records read or
 * written are kept decoded in memory, and {@link flush} writes each changed object once. A
 * changeset that sets ten properties of one object, or a batch of changesets that keep editing
 * the same objects, then costs one row read and one row write per object instead of one each per
 * instruction. Schemas go straight through (they change rarely and the base may cache them).
 *
 * Call `flush()` before the transaction commits; after a failure, drop the layer unflushed (the
 * caller rolls the transaction back). Objects created here come after the base's in `objects()`.
 *
 * @example
 * const state = new BufferedState(tx);
 * for (const c of changesets) apply(state, c);
 * state.flush();
 */
export class BufferedState implements StateStore {
  /** type → key text → held object, in first-touch order. */
  private readonly held = new Map<string, Map<string, Held>>();

  constructor(private readonly base: StateStore) {}

  getSchema(type: string): ObjectSchema | undefined {
    return this.base.getSchema(type);
  }

  schemas(): ObjectSchema[] {
    return this.base.schemas();
  }

  putSchema(schema: ObjectSchema): void {
    this.base.putSchema(schema);
  }

  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    const key = keyString(id);
    const h = this.held.get(type)?.get(key);
    if (h) return h.record ?? undefined;
    const record = this.base.getObject(type, id);
    // Kept, so the next instruction on the same object reads no row.
    if (record) this.typeMap(type).set(key, { id, record, dirty: false });
    return record;
  }

  putObject(type: string, record: ObjectRecord): void {
    const map = this.typeMap(type);
    const key = keyString(record.id);
    const before = map.get(key);
    const recreated = before !== undefined && (before.recreated || (before.record === null && before.dirty));
    map.set(key, { id: record.id, record, dirty: true, recreated });
  }

  deleteObject(type: string, id: ObjectKey): void {
    this.typeMap(type).set(keyString(id), { id, record: null, dirty: true });
  }

  *objects(type: string): Iterable<ObjectRecord> {
    const held = this.held.get(type);
    if (!held || held.size === 0) {
      yield* this.base.objects(type);
      return;
    }
    const seen = new Set<string>();
    for (const record of this.base.objects(type)) {
      const key = keyString(record.id);
      seen.add(key);
      const h = held.get(key);
      if (!h) yield record;
      else if (h.record) yield h.record;
    }
    for (const [key, h] of held) if (h.record && !seen.has(key)) yield h.record;
  }

  /** Writes every object changed since the last flush to the base store. */
  flush(): void {
    for (const [type, held] of this.held) {
      for (const h of held.values()) {
        if (!h.dirty) continue;
        if (!h.record || h.recreated) this.base.deleteObject(type, h.id);
        if (h.record) this.base.putObject(type, h.record);
        h.dirty = false;
        h.recreated = false;
      }
    }
  }

  private typeMap(type: string): Map<string, Held> {
    let m = this.held.get(type);
    if (!m) this.held.set(type, (m = new Map()));
    return m;
  }
}

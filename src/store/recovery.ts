import { apply, type Instruction, type StateStore, type ApplyObserver } from '../changeset';

/**
 * Client-reset recovery (PROTOCOL.md §6): re-applies local changesets that the server never
 * integrated on top of a fresh server snapshot, adapting each instruction to the state it now
 * meets. List instructions get the list's current size as `prior`, inserts past the end land at
 * the end, and an instruction that can no longer apply (its object was deleted on the server, its
 * index is gone) is dropped. Returns the instructions that applied, which the caller commits as
 * new local changesets so they are uploaded again.
 *
 * `applyOne` must apply one instruction atomically (the replica wraps it in a savepoint) and throw
 * when it cannot.
 */
export function recoverInstructions(
  store: StateStore,
  instructions: readonly Instruction[],
  applyOne: (ins: Instruction) => void,
): Instruction[] {
  const out: Instruction[] = [];
  for (const original of instructions) {
    const ins = adapt(store, original);
    if (!ins) continue;
    try {
      applyOne(ins);
      out.push(ins);
    } catch {
      // dropped: it conflicts with the server's state (documented in docs/client.md)
    }
  }
  return out;
}

function adapt(store: StateStore, ins: Instruction): Instruction | undefined {
  switch (ins.op) {
    case 'ListInsert':
    case 'ListSet':
    case 'ListErase':
    case 'ListMove':
    case 'ListClear': {
      const record = store.getObject(ins.type, ins.id);
      if (!record) return undefined;
      const size = record.lists[ins.property]?.length ?? 0;
      if (ins.op === 'ListInsert') return { ...ins, prior: size, index: Math.min(ins.index, size) };
      if (ins.op === 'ListClear') return { ...ins, prior: size };
      if (ins.op === 'ListMove') return ins.from < size && ins.to < size ? { ...ins, prior: size } : undefined;
      return ins.index < size ? { ...ins, prior: size } : undefined;
    }
    default:
      return ins;
  }
}

/** Applies one instruction with the strict applier (for {@link recoverInstructions}). */
export function strictApplyOne(store: StateStore, observer?: ApplyObserver): (ins: Instruction) => void {
  return (ins) => apply(store, [ins], observer);
}

import type { AddProperties, AddType, Instruction, ListInstruction } from '../changeset/instructions';
import { LinkResolver, sameKey } from './links';
import { transformListPair } from './list-rules';
import { checkSchemaPair } from './schema-rules';
import { transformAddVsWrite, transformWrites } from './value-rules';

/**
 * Transformation of one instruction of each side, both made against the same state: returns
 * `[a′, b′]` (a′ runs after b, b′ after a; `null` drops it). Symmetric:
 * `transformPair(b, a, !aLater)` is the swap of `transformPair(a, b, aLater)`, which the server
 * and the client rely on (they call `transform` with the arguments in opposite orders).
 *
 * Cross-object effects go through links: a Delete or Clear kills links to the objects it removes
 * (null for a single link, a tombstone for a list element), exactly what the applier does to
 * links already stored, so both orders end with the same dead references.
 */
export function transformPair(a: Instruction, b: Instruction, aLater: boolean, links: LinkResolver): [Instruction | null, Instruction | null] {
  if (isSchemaInstruction(a) || isSchemaInstruction(b)) {
    if (isSchemaInstruction(a) && isSchemaInstruction(b)) checkSchemaPair(a, b);
    return [a, b];
  }
  if (b.op === 'Clear' || (b.op === 'Delete' && a.op !== 'Clear')) {
    const [b1, a1] = removal(b, a, links);
    return [a1, b1];
  }
  if (a.op === 'Clear' || a.op === 'Delete') return removal(a, b, links);
  if (b.op === 'Delete') return [a, b]; // unreachable: a Delete on b's side was handled above

  // Both are instructions on one object each; only instructions on the same object conflict.
  if (a.type !== b.type || !sameKey(a.id, b.id)) return [a, b];
  if (isListInstruction(a) || isListInstruction(b)) {
    if (isListInstruction(a) && isListInstruction(b) && a.property === b.property) return transformListPair(a, b, aLater);
    return [a, b];
  }
  if (a.op === 'AddInteger') {
    if (b.op === 'AddInteger') return [a, b]; // they commute
    return transformAddVsWrite(a, b, aLater);
  }
  if (b.op === 'AddInteger') {
    const [b1, a1] = transformAddVsWrite(b, a, !aLater);
    return [a1, b1];
  }
  return transformWrites(a, b, aLater);
}

// Local copies of the instruction-kind guards: this is the innermost loop of every merge.
function isSchemaInstruction(i: Instruction): i is AddType | AddProperties {
  return i.op === 'AddType' || i.op === 'AddProperties';
}

function isListInstruction(i: Instruction): i is ListInstruction {
  return i.op === 'ListSet' || i.op === 'ListInsert' || i.op === 'ListErase' || i.op === 'ListMove' || i.op === 'ListClear';
}

/**
 * A Delete or Clear (`r`) against anything: it wins over every instruction on the objects it
 * removes (a Create included), meets an equal removal as one, and turns links the other side
 * writes to those objects into null / tombstones.
 */
function removal(
  r: Extract<Instruction, { op: 'Delete' | 'Clear' }>,
  o: Exclude<Instruction, { op: 'AddType' | 'AddProperties' }>,
  links: LinkResolver,
): [Instruction | null, Instruction | null] {
  if (r.op === 'Clear') {
    if (o.op === 'Clear') return o.type === r.type ? [null, null] : [r, o];
    if (o.type === r.type) return [r, null];
    return [r, links.killLinks(o, (ref) => ref.type === r.type)];
  }
  if (o.op === 'Clear') return o.type === r.type ? [null, o] : [r, o];
  if (o.type === r.type && sameKey(o.id, r.id)) return o.op === 'Delete' ? [null, null] : [r, null];
  if (o.op === 'Delete') return [r, o];
  return [r, links.killLinks(o, (ref) => ref.type === r.type && sameKey(ref.id, r.id))];
}

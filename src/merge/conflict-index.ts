import type { Instruction } from '../changeset';
import { LinkResolver, objectKey } from './links';

/**
 * Which instructions of one changeset may conflict with a given instruction of the other, so a
 * merge of unrelated edits costs O(|a| + |b|) instead of O(|a|·|b|) pair checks.
 *
 * An instruction *touches* its own object and every object it links to, and the types of those.
 * A Clear touches a whole type; a schema instruction only meets schema instructions of its type.
 * Transformation never adds targets to an instruction (it only drops values, nulls links or
 * shifts indices), so keys computed from the original instruction stay a superset.
 */
export class ConflictIndex {
  private readonly byObject = new Map<string, number[]>();
  private readonly byType = new Map<string, number[]>();
  private readonly clears = new Map<string, number[]>();
  private readonly schema = new Map<string, number[]>();

  constructor(
    instructions: readonly Instruction[],
    private readonly links: LinkResolver,
  ) {
    instructions.forEach((ins, i) => {
      if (ins.op === 'AddType' || ins.op === 'AddProperties') return add(this.schema, ins.type, i);
      if (ins.op === 'Clear') {
        add(this.clears, ins.type, i);
        return add(this.byType, ins.type, i);
      }
      add(this.byObject, objectKey(ins.type, ins.id), i);
      add(this.byType, ins.type, i);
      for (const ref of links.linksOf(ins)) {
        add(this.byObject, objectKey(ref.type, ref.id), i);
        add(this.byType, ref.type, i);
      }
    });
  }

  /** Positions (ascending) of the indexed instructions that may conflict with `ins`. */
  candidates(ins: Instruction): number[] {
    const lists: (number[] | undefined)[] = [];
    if (ins.op === 'AddType' || ins.op === 'AddProperties') lists.push(this.schema.get(ins.type));
    else if (ins.op === 'Clear') lists.push(this.byType.get(ins.type));
    else {
      lists.push(this.byObject.get(objectKey(ins.type, ins.id)), this.clears.get(ins.type));
      for (const ref of this.links.linksOf(ins)) lists.push(this.byObject.get(objectKey(ref.type, ref.id)), this.clears.get(ref.type));
    }
    const present = lists.filter((l): l is number[] => l !== undefined && l.length > 0);
    if (present.length === 0) return [];
    if (present.length === 1) return present[0]!;
    return [...new Set(present.flat())].sort((x, y) => x - y);
  }
}

function add(map: Map<string, number[]>, key: string, i: number): void {
  const l = map.get(key);
  if (l) {
    if (l[l.length - 1] !== i) l.push(i); // an instruction can name the same object twice (self-link)
  }
  else map.set(key, [i]);
}

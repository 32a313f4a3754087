import type { AdapterInstruction } from '../../src/adapter/instructions';
import { collectTouched as kitCollectTouched, type Note } from '../kit/touched';
import { keyFromIdentity, type Collected } from './apply-rows';
import type { ResolvedMapping } from './mapping';

export type { Note } from '../kit/touched';

/** The kit's collector (connectors/kit/touched.ts) over the PostgreSQL mapping. */
export function collectTouched(mapping: ResolvedMapping, path: string, txs: readonly (readonly AdapterInstruction[])[], note: Note): Collected {
  return kitCollectTouched({ tableOfType: (type) => mapping.byType.get(type), keyFromIdentity }, path, txs, note);
}

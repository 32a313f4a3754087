import type { ObjectSchema } from '../model';
import type { Instruction } from './instructions';
import type { ObjectRecord } from './state';

/** Limits the changeset decoder enforces (options with defaults). */
export interface ChangesetLimits {
  /** Maximum instructions in one changeset. */
  maxInstructions: number;
  /** Maximum length of one string or binary value, in bytes. */
  maxValueBytes: number;
}

export const DEFAULT_CHANGESET_LIMITS: ChangesetLimits = { maxInstructions: 1_000_000, maxValueBytes: 16 * 1024 * 1024 };

/** Compact binary encoding of a changeset's instructions (byte layout in docs/protocol.md). */
export function encodeChangeset(instructions: readonly Instruction[]): Uint8Array {
  void instructions;
  throw new Error('not implemented yet');
}

/** Inverse of {@link encodeChangeset}; throws TributaryError('BAD_CHANGESET') on malformed bytes. */
export function decodeChangeset(bytes: Uint8Array, limits: ChangesetLimits = DEFAULT_CHANGESET_LIMITS): Instruction[] {
  void bytes;
  void limits;
  throw new Error('not implemented yet');
}

/** Binary encoding of one stored object (used by replicas and the server's state tables). */
export function encodeRecord(record: ObjectRecord): Uint8Array {
  void record;
  throw new Error('not implemented yet');
}

export function decodeRecord(bytes: Uint8Array): ObjectRecord {
  void bytes;
  throw new Error('not implemented yet');
}

/** Binary encoding of one object schema (for storing schemas). */
export function encodeObjectSchema(schema: ObjectSchema): Uint8Array {
  void schema;
  throw new Error('not implemented yet');
}

export function decodeObjectSchema(bytes: Uint8Array): ObjectSchema {
  void bytes;
  throw new Error('not implemented yet');
}

import { CHANGESET_FORMAT_VERSION, OP_CODES, PROPERTY_TYPE_CODES, RECORD_FORMAT_VERSION, SCHEMA_FORMAT_VERSION } from '../changeset/codec';
import { DEAD_TAG_FLAG, VALUE_TAGS } from '../changeset/codec-values';
import { PROTOCOL_VERSION } from './messages';
import { CLIENT_MESSAGES, ERROR_ACTIONS, SERVER_MESSAGES } from './schema';

/**
 * Everything that decides the bytes on the wire, serialised deterministically: message layouts,
 * error actions, value tags, op codes, property type codes and format bytes. A test pins its
 * hash together with PROTOCOL_VERSION, so a wire change cannot land without a version bump.
 */
export function serializeWireSchema(): string {
  return JSON.stringify({
    client: CLIENT_MESSAGES,
    server: SERVER_MESSAGES,
    errorActions: ERROR_ACTIONS,
    valueTags: VALUE_TAGS,
    deadTagFlag: DEAD_TAG_FLAG,
    opCodes: OP_CODES,
    propertyTypes: PROPERTY_TYPE_CODES,
    formats: { changeset: CHANGESET_FORMAT_VERSION, record: RECORD_FORMAT_VERSION, schema: SCHEMA_FORMAT_VERSION },
  });
}

/** 32-bit FNV-1a over the UTF-16 code units of a string, as 8 hex digits (no crypto needed). */
export function fnv1a32(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The hash the protocol-version test pins. */
export function wireSchemaHash(): { protocolVersion: number; hash: string } {
  return { protocolVersion: PROTOCOL_VERSION, hash: fnv1a32(serializeWireSchema()) };
}

/**
 * Server messages as the replica takes them: a DOWNLOAD with its changesets decoded, and the
 * segments of a STATE joined into one snapshot. Pure, so the session keeps only the protocol.
 */
import { decodeChangeset, type Instruction } from '../changeset';
import type { DownloadMessage, StateMessage } from '../protocol';
import type { DownloadBatch, Snapshot } from '../store';

export function downloadBatch(message: DownloadMessage): DownloadBatch {
  return {
    serverVersion: message.serverVersion,
    lastIntegratedClientVersion: message.lastIntegratedClientVersion,
    latestServerVersion: message.latestServerVersion,
    latestServerVersionSalt: message.latestServerVersionSalt,
    uploadClientVersion: message.uploadClientVersion,
    uploadServerVersion: message.uploadServerVersion,
    changesets: message.changesets.map((c) => ({
      serverVersion: c.serverVersion,
      lastIntegratedClientVersion: c.lastIntegratedClientVersion,
      originTimestamp: c.originTimestamp,
      originFileIdent: c.originFileIdent,
      instructions: decodeChangeset(c.data),
    })),
  };
}

/** The snapshot a STATE's last segment completes; `bytes` is the joined encoded state. */
export function snapshotOf(last: StateMessage, segments: Uint8Array[]): { snapshot: Snapshot; bytes: number } {
  const data = concat(segments);
  const instructions: Instruction[] = data.length === 0 ? [] : decodeChangeset(data);
  return {
    snapshot: {
      serverVersion: last.serverVersion,
      serverVersionSalt: last.serverVersionSalt,
      lastIntegratedClientVersion: last.lastIntegratedClientVersion,
      instructions,
    },
    bytes: data.length,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

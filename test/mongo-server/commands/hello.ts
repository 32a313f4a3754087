/**
 * The handshake reply (`hello`, legacy `isMaster`/`ismaster`): a single-node replica set primary —
 * setName, hosts, primary, me, setVersion, electionId, lastWrite — or, in standalone mode, a mongod
 * without replication. Both report logicalSessionTimeoutMinutes (sessions work on a standalone too)
 * and a topologyVersion, which lets the driver's monitor use the streaming (awaitable hello)
 * protocol. Wire versions 0–25: MongoDB 8.0's range.
 */
import { Long } from 'mongodb';
import type { Document } from 'mongodb';
import { toTimestamp } from '../cluster-clock';
import type { ServerState } from '../server-state';
import { electionId } from './write-reply';

export const MAX_WIRE_VERSION = 25;
export const SERVER_VERSION = '8.0.0';

export function topologyVersion(state: ServerState): Document {
  return { processId: state.processId, counter: Long.ZERO };
}

export function helloReply(state: ServerState, command: Document, connectionId: number): Document {
  const legacy = 'isMaster' in command || 'ismaster' in command;
  const reply: Document = {};
  if (command.helloOk === true) reply.helloOk = true;
  reply.topologyVersion = topologyVersion(state);
  if (state.isReplicaSet) {
    const time = toTimestamp(state.engine.clock.current);
    const lastWriteDate = new Date(Number(state.engine.clock.current >> 32n) * 1000);
    const opTime = { ts: time, t: Long.fromNumber(state.term) };
    reply.hosts = [state.address];
    reply.setName = state.options.replSetName;
    reply.setVersion = 1;
    reply[legacy ? 'ismaster' : 'isWritablePrimary'] = true;
    reply.secondary = false;
    reply.primary = state.address;
    reply.me = state.address;
    reply.electionId = electionId(state.term);
    reply.lastWrite = { opTime, lastWriteDate, majorityOpTime: opTime, majorityWriteDate: lastWriteDate };
  } else {
    reply[legacy ? 'ismaster' : 'isWritablePrimary'] = true;
  }
  reply.maxBsonObjectSize = 16 * 1024 * 1024;
  reply.maxMessageSizeBytes = state.options.maxMessageSizeBytes;
  reply.maxWriteBatchSize = 100_000;
  reply.localTime = new Date();
  reply.logicalSessionTimeoutMinutes = state.options.logicalSessionTimeoutMinutes;
  reply.connectionId = connectionId;
  reply.minWireVersion = 0;
  reply.maxWireVersion = MAX_WIRE_VERSION;
  reply.readOnly = false;
  return reply;
}

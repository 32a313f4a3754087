/**
 * Fields every write reply on a replica set carries (`opTime`, `electionId`), and the clock that
 * `$currentDate` reads.
 */
import { Long, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { toTimestamp } from '../cluster-clock';
import type { UpdateOptions } from '../update';
import type { CommandContext } from './context';

/** The electionId a primary of `term` reports (mongod: 7fffffff followed by the term). */
export function electionId(term: number): ObjectId {
  return ObjectId.createFromHexString(`7fffffff${term.toString(16).padStart(16, '0')}`);
}

export function writeReplyFields(ctx: CommandContext): Document {
  if (!ctx.state.isReplicaSet || ctx.transaction) return {};
  const time = ctx.operationTime ?? ctx.state.engine.clock.current;
  return { electionId: electionId(ctx.state.term), opTime: { ts: toTimestamp(time), t: Long.fromNumber(ctx.state.term) } };
}

export function clockForUpdates(ctx: CommandContext): UpdateOptions {
  return { now: () => ({ date: new Date(), timestamp: toTimestamp(ctx.state.engine.clock.current) }) };
}

/**
 * Turns engine events into a tabular response the way SQL Server orders its tokens: a SQL batch
 * ends each statement with DONE (MORE on all but the last); an RPC ends each statement with
 * DONEINPROC and the procedure with RETURNSTATUS, RETURNVALUEs and DONEPROC; a transaction
 * manager request answers with its ENVCHANGE and a DONE.
 */
import { EngineEvent } from '../engine/session';
import { SqlType, SqlValue } from '../engine/sql-types';
import { ColumnDescription, DoneStatus, colMetadata, done, envChange, errorToken, infoToken, returnStatus, returnValue, row } from '../protocol/tokens';

export function describeColumns(columns: Array<{ name: string; type: SqlType; nullable: boolean; identity?: boolean; computed?: boolean; readOnly?: boolean; tableName?: string[] }>): ColumnDescription[] {
  return columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable, identity: c.identity, computed: c.computed, readOnly: c.readOnly, tableName: c.tableName }));
}

function eventTokens(e: EngineEvent, doneKind: 'done' | 'doneInProc', isLastDone: boolean): Buffer[] {
  switch (e.kind) {
    case 'resultSet': {
      const columns = describeColumns(e.columns);
      return [colMetadata(columns), ...e.rows.map((r: SqlValue[]) => row(columns, r))];
    }
    case 'done': {
      let status = 0;
      if (!isLastDone || doneKind === 'doneInProc') status |= DoneStatus.MORE;
      if (e.rowCount !== null) status |= DoneStatus.COUNT;
      if (e.error) status |= DoneStatus.ERROR;
      return [done(doneKind, status, e.command, e.rowCount ?? 0)];
    }
    case 'error':
      return [errorToken({ number: e.error.number, state: e.error.state, class: e.error.class, message: e.error.message })];
    case 'info':
      return [infoToken({ number: e.number, state: e.state, class: e.class, message: e.message })];
    case 'beginTransaction': return [envChange.beginTransaction(e.descriptor)];
    case 'commitTransaction': return [envChange.commitTransaction(e.descriptor)];
    case 'rollbackTransaction': return [envChange.rollbackTransaction(e.descriptor)];
    case 'returnValue': return [];
  }
}

export function batchResponse(events: EngineEvent[], prefix: Buffer[] = []): Buffer {
  const lastDone = events.map((e) => e.kind).lastIndexOf('done');
  const parts = [...prefix];
  events.forEach((e, i) => parts.push(...eventTokens(e, 'done', i === lastDone)));
  if (lastDone < 0) parts.push(done('done', events.some((e) => e.kind === 'error') ? DoneStatus.ERROR : DoneStatus.FINAL, 0, 0));
  return Buffer.concat(parts);
}

export function rpcResponse(events: EngineEvent[], prefix: Buffer[] = []): Buffer {
  const parts = [...prefix];
  for (const e of events) parts.push(...eventTokens(e, 'doneInProc', false));
  const failed = events.some((e) => e.kind === 'error');
  parts.push(returnStatus(failed ? -6 : 0));
  let ordinal = 0;
  for (const e of events) if (e.kind === 'returnValue') parts.push(returnValue(ordinal++, e.name, e.type, e.value));
  parts.push(done('doneProc', failed ? DoneStatus.ERROR : DoneStatus.FINAL, 0xe0, 0));
  return Buffer.concat(parts);
}

export function attentionAck(): Buffer {
  return done('done', DoneStatus.ATTN, 0, 0);
}

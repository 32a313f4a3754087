/**
 * What the server shares with its connections: the handler, the login it accepts, the fault
 * queue, and the request log tests read to see what the driver actually sent.
 */
import { SqlError } from '../engine/errors';
import { SqlType, SqlValue } from '../engine/sql-types';
import { TdsHandler } from './handler';

export interface RecordedParameter {
  name: string;
  output: boolean;
  type: SqlType;
  value: SqlValue;
}

export type RequestRecord =
  | { type: 'login'; user: string; database: string; appName: string; tdsVersion: number; packetSize: number }
  | { type: 'batch'; sql: string; descriptor: Buffer }
  | { type: 'rpc'; procedure: string; parameters: RecordedParameter[]; descriptor: Buffer }
  | { type: 'tm'; operation: string; isolationLevel?: number; descriptor: Buffer }
  | { type: 'attention' };

export type Fault =
  | { kind: 'error'; error: SqlError; match?: RegExp }
  | { kind: 'drop'; match?: RegExp };

export interface ServerHooks {
  handler?: TdsHandler;
  login?: { user: string; password: string };
  /** Removes and returns the first queued fault whose pattern matches the statement. */
  takeFault(statement: string): Fault | undefined;
  record(r: RequestRecord): void;
  onClose(connection: unknown): void;
}

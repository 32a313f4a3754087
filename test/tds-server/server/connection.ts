/**
 * One client connection: PRELOGIN (never encrypting), LOGIN7 (any user, or the configured one),
 * then SQL batches, RPC requests and transaction manager requests answered one at a time, and
 * ATTENTION (cancel) acknowledged with a DONE carrying the ATTN bit in a message of its own after
 * the cancelled request's response, which is what tedious reads.
 */
import { Socket } from 'node:net';
import { Database } from '../engine/database';
import { SqlError, errors } from '../engine/errors';
import { EngineEvent, EngineSession, StatementHook, declaredOutputs } from '../engine/session';
import { SqlType, SqlValue, TypedValue } from '../engine/sql-types';
import { ParsedStatement, parseBatch } from '../sql/parser';
import { ProtocolError } from '../protocol/bytes';
import { Encryption, encodePreloginResponse, parseLogin7, parsePrelogin } from '../protocol/login';
import { Message, MessageAssembler, PacketStatus, PacketType, encodeMessage } from '../protocol/packet';
import { AllHeaders, RpcParameter, parseRpc, parseSqlBatch, parseTransactionManager, IsolationLevelName } from '../protocol/requests';
import { DoneStatus, done, envChange, errorToken, infoToken, loginAck } from '../protocol/tokens';
import { DEFAULT_COLLATION } from '../protocol/type-info';
import { answerEvents } from './handler';
import { attentionAck, batchResponse, rpcResponse } from './responses';
import { ServerHooks, RequestRecord } from './types';

export class TdsConnection {
  private readonly assembler = new MessageAssembler();
  private state: 'prelogin' | 'login' | 'ready' | 'closed' = 'prelogin';
  private packetSize = 4096;
  private session: EngineSession | null = null;
  private user = '';
  private queue: Promise<void> = Promise.resolve();
  private current: AbortController | null = null;
  private ackAfterCurrent = false;
  private dropRequested = false;

  constructor(private readonly socket: Socket, private readonly db: Database, private readonly hooks: ServerHooks, readonly spid: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.current?.abort();
    this.session?.close();
    this.socket.destroy();
    this.hooks.onClose(this);
  }

  private send(type: number, payload: Buffer): void {
    if (this.state === 'closed') return;
    this.socket.write(encodeMessage(type, payload, this.packetSize, this.spid));
  }

  private onData(chunk: Buffer): void {
    let messages: Message[];
    try {
      messages = this.assembler.push(chunk);
    } catch {
      this.close();
      return;
    }
    for (const m of messages) {
      if (m.type === PacketType.ATTENTION) this.onAttention();
      else this.queue = this.queue.then(() => this.handle(m)).catch(() => this.close());
    }
  }

  private onAttention(): void {
    this.hooks.record({ type: 'attention' });
    if (this.current) {
      this.ackAfterCurrent = true;
      this.current.abort();
    } else {
      // The request already has its response; the attention gets one of its own.
      this.queue = this.queue.then(() => this.send(PacketType.TABULAR_RESULT, attentionAck()));
    }
  }

  private async handle(m: Message): Promise<void> {
    if (this.state === 'closed') return;
    if (m.lastStatus & PacketStatus.IGNORE) {
      // The client abandoned the message part-way; it still expects one response to it.
      this.send(PacketType.TABULAR_RESULT, done('done', DoneStatus.FINAL, 0, 0));
      return;
    }
    try {
      switch (this.state) {
        case 'prelogin': return this.onPrelogin(m);
        case 'login': return this.onLogin(m);
        case 'ready': return await this.onRequest(m);
      }
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.close();
        return;
      }
      throw e;
    }
  }

  private onPrelogin(m: Message): void {
    if (m.type !== PacketType.PRELOGIN) throw new ProtocolError('expected PRELOGIN');
    parsePrelogin(m.payload);
    // Never encrypt: tedious with `encrypt: false` sends NOT_SUP and accepts NOT_SUP back; a client
    // that insists on encryption fails with tedious's own EENCRYPT message.
    this.send(PacketType.TABULAR_RESULT, encodePreloginResponse(Encryption.NOT_SUP));
    this.state = 'login';
  }

  private onLogin(m: Message): void {
    if (m.type !== PacketType.LOGIN7) throw new ProtocolError('expected LOGIN7');
    const login = parseLogin7(m.payload);
    this.user = login.userName;
    this.hooks.record({ type: 'login', user: login.userName, database: login.database, appName: login.appName, tdsVersion: login.tdsVersion, packetSize: login.packetSize });
    const fail = (e: SqlError, extra: SqlError[] = []) => {
      const tokens = [...extra, e].map((x) => errorToken({ number: x.number, state: x.state, class: x.class, message: x.message }));
      this.send(PacketType.TABULAR_RESULT, Buffer.concat([...tokens, done('done', DoneStatus.ERROR, 0, 0)]));
      this.close();
    };
    const expected = this.hooks.login;
    if (login.integratedSecurity || (expected && (login.userName !== expected.user || login.password !== expected.password))) {
      fail(errors.loginFailed(login.userName));
      return;
    }
    const requested = login.database;
    const known = requested === '' || requested.toLowerCase() === this.db.name.toLowerCase() || requested.toLowerCase() === 'master';
    if (!known) {
      fail(errors.loginFailed(login.userName), [errors.cannotOpenDatabase(requested)]);
      return;
    }
    const database = requested === '' ? this.db.name : requested;
    this.packetSize = Math.min(Math.max(login.packetSize || 4096, 512), 32767);
    const tdsVersion = [0x74000004, 0x730b0003, 0x730a0003, 0x72090002].find((v) => v <= login.tdsVersion) ?? 0x74000004;
    const response = Buffer.concat([
      envChange.database(database, 'master'),
      infoToken({ number: 5701, state: 2, class: 0, message: `Changed database context to '${database}'.` }),
      envChange.collation(DEFAULT_COLLATION),
      envChange.language('us_english'),
      infoToken({ number: 5703, state: 1, class: 0, message: 'Changed language setting to us_english.' }),
      loginAck(tdsVersion),
      envChange.packetSize(this.packetSize),
      done('done', DoneStatus.FINAL, 0, 0),
    ]);
    this.session = new EngineSession(this.db, this.spid);
    this.send(PacketType.TABULAR_RESULT, response);
    this.state = 'ready';
  }

  /** 3989 when the request's transaction descriptor is not the open transaction's. */
  private checkDescriptor(headers: AllHeaders): SqlError | null {
    const tx = this.session!.explicit;
    if (tx && !headers.transactionDescriptor.equals(tx.descriptor)) return errors.transactionDescriptor();
    return null;
  }

  private hookFor(parameters: Map<string, TypedValue>, signal: AbortSignal): StatementHook {
    return async (statement) => {
      const fault = this.hooks.takeFault(statement.text);
      if (fault?.kind === 'drop') {
        this.dropRequested = true;
        return { events: [], stop: true };
      }
      if (fault?.kind === 'error') return { events: [{ kind: 'error', error: fault.error }, { kind: 'done', command: 0, rowCount: null, error: true }] };
      const handler = this.hooks.handler;
      if (!handler) return undefined;
      const values: Record<string, SqlValue> = {};
      const types: Record<string, SqlType> = {};
      for (const [k, v] of parameters) { values[k] = v.value; types[k] = v.type; }
      const answer = await handler({
        sql: statement.text, kind: statement.kind, parameters: values, parameterTypes: types,
        session: { spid: this.spid, user: this.user, inTransaction: this.session!.explicit !== null }, signal,
      });
      if (!answer) return undefined;
      if (answer.drop) {
        this.dropRequested = true;
        return { events: [], stop: true };
      }
      return { events: answerEvents(answer) };
    };
  }

  private async runStatements(statements: ParsedStatement[], parameters: Map<string, TypedValue>): Promise<EngineEvent[] | null> {
    const controller = new AbortController();
    this.current = controller;
    try {
      const events = await this.session!.run(statements, parameters, this.hookFor(parameters, controller.signal), controller.signal);
      if (this.dropRequested) {
        this.close();
        return null;
      }
      return events;
    } finally {
      this.current = null;
    }
  }

  private finishAttention(): void {
    if (this.ackAfterCurrent) {
      this.ackAfterCurrent = false;
      this.send(PacketType.TABULAR_RESULT, attentionAck());
    }
  }

  /** RESETCONNECTION: a fresh session (the open transaction rolled back unless SKIPTRAN says keep it). */
  private resetPrefix(m: Message): Buffer[] {
    const keepTransaction = (m.firstStatus & PacketStatus.RESET_CONNECTION_SKIP_TRAN) !== 0;
    if (!(m.firstStatus & PacketStatus.RESET_CONNECTION) && !keepTransaction) return [];
    const old = this.session!;
    const fresh = new EngineSession(this.db, this.spid);
    const prefix: Buffer[] = [];
    if (keepTransaction && old.explicit) fresh.explicit = old.explicit;
    else if (old.explicit) {
      prefix.push(envChange.rollbackTransaction(old.explicit.descriptor));
      old.close();
    }
    this.session = fresh;
    prefix.push(envChange.resetConnection());
    return prefix;
  }

  private async onRequest(m: Message): Promise<void> {
    const prefix = this.resetPrefix(m);
    switch (m.type) {
      case PacketType.SQL_BATCH: {
        const request = parseSqlBatch(m.payload);
        this.record({ type: 'batch', sql: request.sql, descriptor: request.headers.transactionDescriptor });
        const bad = this.checkDescriptor(request.headers);
        if (bad) return this.reply(batchResponse([{ kind: 'error', error: bad }, { kind: 'done', command: 0, rowCount: null, error: true }], prefix));
        const events = await this.runStatements(parseBatch(request.sql), new Map());
        if (events) this.reply(batchResponse(events, prefix));
        return;
      }
      case PacketType.RPC_REQUEST: {
        const request = parseRpc(m.payload);
        this.record({ type: 'rpc', procedure: request.procedure, parameters: request.parameters, descriptor: request.headers.transactionDescriptor });
        const bad = this.checkDescriptor(request.headers);
        if (bad) return this.reply(rpcResponse([{ kind: 'error', error: bad }, { kind: 'done', command: 0, rowCount: null, error: true }], prefix));
        const events = await this.onRpc(request.procedure, request.parameters);
        if (events) this.reply(rpcResponse(events, prefix));
        return;
      }
      case PacketType.TRANSACTION_MANAGER: {
        const request = parseTransactionManager(m.payload);
        this.record({ type: 'tm', operation: request.operation, isolationLevel: request.operation === 'begin' ? request.isolationLevel : undefined, descriptor: request.headers.transactionDescriptor });
        const session = this.session!;
        let events: EngineEvent[];
        try {
          const bad = this.checkDescriptor(request.headers);
          if (bad) throw bad;
          switch (request.operation) {
            case 'begin': events = session.begin(IsolationLevelName[request.isolationLevel]); break;
            case 'commit': events = session.commit(); break;
            case 'rollback': events = session.rollback(); break;
            default: throw new SqlError(40517, 'The transaction manager request is not supported by the scripted TDS test server.');
          }
          events.push({ kind: 'done', command: 0, rowCount: null });
        } catch (e) {
          if (!(e instanceof SqlError)) throw e;
          events = [{ kind: 'error', error: e }, { kind: 'done', command: 0, rowCount: null, error: true }];
        }
        this.reply(batchResponse(events, prefix));
        return;
      }
      default:
        this.reply(Buffer.concat([...prefix, errorToken({ number: 40516, state: 1, class: 16, message: `The scripted TDS test server does not support packet type 0x${m.type.toString(16)} (bulk load is not implemented).` }), done('done', DoneStatus.ERROR, 0, 0)]));
    }
  }

  private reply(payload: Buffer): void {
    this.send(PacketType.TABULAR_RESULT, payload);
    this.finishAttention();
  }

  private record(r: RequestRecord): void {
    this.hooks.record(r);
  }

  private async onRpc(procedure: string, parameters: RpcParameter[]): Promise<EngineEvent[] | null> {
    const session = this.session!;
    const byName = (name: string, position: number) => parameters.find((p) => p.name.toLowerCase() === name) ?? (parameters[position]?.name === '' ? parameters[position] : undefined);
    const valuesOf = (list: RpcParameter[], names?: string[]) => {
      const map = new Map<string, TypedValue>();
      list.forEach((p, i) => map.set((p.name || names?.[i] || `p${i}`).toLowerCase(), { type: p.type, value: p.value }));
      return map;
    };
    const outputs = (list: RpcParameter[], values: Map<string, TypedValue>, names?: string[]): EngineEvent[] =>
      list.map((p, i) => ({ p, name: (p.name || names?.[i] || '').toLowerCase() })).filter(({ p }) => p.output)
        .map(({ p, name }) => ({ kind: 'returnValue' as const, name: p.name || name, type: p.type, value: values.get(name)?.value ?? null }));
    switch (procedure) {
      case 'sp_executesql': {
        const statement = byName('statement', 0);
        const declarations = byName('params', 1);
        const rest = parameters.filter((p) => p !== statement && p !== declarations);
        const values = valuesOf(rest);
        const declaredOut = declaredOutputs(String(declarations?.value ?? ''));
        const events = await this.runStatements(parseBatch(String(statement?.value ?? '')), values);
        if (!events) return null;
        return [...events, ...outputs(rest.filter((p) => p.output || declaredOut.has(p.name.toLowerCase())), values)];
      }
      case 'sp_prepare': case 'sp_prepexec': {
        const handleParam = byName('handle', 0);
        const declarations = String(byName('params', 1)?.value ?? '');
        const stmt = String(byName('stmt', 2)?.value ?? '');
        const handle = session.prepare(stmt, declarations);
        const handleEvent: EngineEvent = { kind: 'returnValue', name: handleParam?.name || 'handle', type: { name: 'int' }, value: handle };
        if (procedure === 'sp_prepare') return [handleEvent];
        const rest = parameters.slice(3).filter((p) => !['options'].includes(p.name.toLowerCase()));
        const prepared = session.prepared.get(handle)!;
        const events = await this.runStatements(parseBatch(prepared.sql), valuesOf(rest, prepared.parameterNames));
        return events ? [handleEvent, ...events] : null;
      }
      case 'sp_execute': {
        const handleParam = byName('handle', 0);
        const handle = Number(handleParam?.value);
        const prepared = session.prepared.get(handle);
        if (!prepared) return [{ kind: 'error', error: errors.invalidHandle(handle) }, { kind: 'done', command: 0, rowCount: null, error: true }];
        const rest = parameters.filter((p) => p !== handleParam);
        const values = valuesOf(rest, prepared.parameterNames);
        const events = await this.runStatements(parseBatch(prepared.sql), values);
        return events ? [...events, ...outputs(rest, values, prepared.parameterNames)] : null;
      }
      case 'sp_unprepare': {
        session.prepared.delete(Number(byName('handle', 0)?.value));
        return [];
      }
      default: {
        // Any other procedure goes to the handler as `EXEC name` with its parameters.
        const values = valuesOf(parameters);
        const text = `EXEC ${procedure}`;
        const events = await this.runStatements([{ statement: { kind: 'unrecognised', text, near: procedure } }], values);
        if (!events) return null;
        const failed = events.find((e) => e.kind === 'error');
        if (failed && failed.kind === 'error' && failed.error.number === 102) {
          return [{ kind: 'error', error: errors.unknownProcedure(procedure) }, { kind: 'done', command: 0, rowCount: null, error: true }];
        }
        return [...events, ...outputs(parameters, values)];
      }
    }
  }
}


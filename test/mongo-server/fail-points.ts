/**
 * Fault injection, modelled on mongod's `failCommand` fail point (enabled there with
 * `--setParameter enableTestCommands=1`): the next matching command fails with an error code (and
 * chosen error labels), gets a write concern error, is delayed, or has its connection closed
 * without a reply. Driven by the `configureFailPoint` command — so tests written against it also run
 * against a real mongod — or by `server.failNext(...)`, which queues one-shot rules.
 */
import type { Document } from 'mongodb';
import { isNumeric, isPlainDocument, toNumber } from './bson-values';
import { fail } from './errors';

export interface FailureAction {
  errorCode?: number;
  /** Replaces the labels the server would add (as failCommand's `errorLabels` does). */
  errorLabels?: string[];
  closeConnection?: boolean;
  blockTimeMS?: number;
  writeConcernError?: Document;
  errmsg?: string;
}

interface Rule {
  commands: Set<string>;
  action: FailureAction;
  remaining: number; // Infinity for alwaysOn
  skip: number;
  appName?: string;
}

export interface FailNextOptions {
  code?: number;
  errorLabels?: string[];
  closeConnection?: boolean;
  blockTimeMS?: number;
  writeConcernError?: Document;
  errmsg?: string;
}

export class FailPoints {
  private configured: Rule | undefined;
  private readonly queued: Rule[] = [];

  /** The failure to apply to `command` (consuming one use of the rule), if any. */
  take(command: string, appName: string | undefined): FailureAction | undefined {
    for (const rule of [...this.queued, ...(this.configured ? [this.configured] : [])]) {
      if (!rule.commands.has(command) || rule.remaining <= 0) continue;
      if (rule.appName !== undefined && rule.appName !== appName) continue;
      if (rule.skip > 0) {
        rule.skip -= 1;
        continue;
      }
      rule.remaining -= 1;
      if (rule.remaining <= 0) {
        const i = this.queued.indexOf(rule);
        if (i >= 0) this.queued.splice(i, 1);
        if (rule === this.configured) this.configured = undefined;
      }
      return rule.action;
    }
    return undefined;
  }

  queue(command: string, options: FailNextOptions): void {
    if (options.code === undefined && !options.closeConnection && options.blockTimeMS === undefined && !options.writeConcernError) {
      throw new TypeError('failNext needs code, closeConnection, blockTimeMS or writeConcernError');
    }
    this.queued.push({
      commands: new Set([command]),
      remaining: 1,
      skip: 0,
      action: {
        errorCode: options.code,
        errorLabels: options.errorLabels,
        closeConnection: options.closeConnection,
        blockTimeMS: options.blockTimeMS,
        writeConcernError: options.writeConcernError,
        errmsg: options.errmsg,
      },
    });
  }

  /** `{ configureFailPoint: 'failCommand', mode, data }`; returns the reply's `count` (previous activations). */
  configure(command: Document): Document {
    if (command.configureFailPoint !== 'failCommand') {
      fail('BadValue', `Cannot find FailPoint named ${String(command.configureFailPoint)} (the test server has only failCommand)`);
    }
    const mode = command.mode;
    const data = (command.data ?? {}) as Document;
    if (mode === 'off') {
      this.configured = undefined;
      return { count: 0 };
    }
    let remaining = Infinity;
    let skip = 0;
    if (mode === 'alwaysOn') remaining = Infinity;
    else if (isPlainDocument(mode) && isNumeric(mode.times)) remaining = toNumber(mode.times);
    else if (isPlainDocument(mode) && isNumeric(mode.skip)) skip = toNumber(mode.skip);
    else fail('BadValue', `mode must be 'off', 'alwaysOn', { times: n } or { skip: n }`);
    if (!Array.isArray(data.failCommands) || data.failCommands.length === 0) fail('BadValue', `data.failCommands must be a non-empty array of command names`);
    this.configured = {
      commands: new Set(data.failCommands.map(String)),
      remaining,
      skip,
      appName: typeof data.appName === 'string' ? data.appName : undefined,
      action: {
        errorCode: isNumeric(data.errorCode) ? toNumber(data.errorCode) : undefined,
        errorLabels: Array.isArray(data.errorLabels) ? data.errorLabels.map(String) : undefined,
        closeConnection: Boolean(data.closeConnection),
        blockTimeMS: data.blockConnection && isNumeric(data.blockTimeMS) ? toNumber(data.blockTimeMS) : undefined,
        writeConcernError: isPlainDocument(data.writeConcernError) ? data.writeConcernError : undefined,
      },
    };
    return { count: 0 };
  }

  clear(): void {
    this.configured = undefined;
    this.queued.length = 0;
  }
}

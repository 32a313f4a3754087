/**
 * Commands about the server itself: ping, buildInfo, connectionStatus, replSetGetStatus, getParameter
 * (featureCompatibilityVersion only), endSessions, killSessions, configureFailPoint.
 */
import { Long } from 'mongodb';
import type { Document } from 'mongodb';
import { toTimestamp } from '../cluster-clock';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import type { CommandContext } from './context';
import { MAX_WIRE_VERSION, SERVER_VERSION } from './hello';

export function pingCommand(): Document {
  return {};
}

export function buildInfoCommand(): Document {
  const [major, minor, patch] = SERVER_VERSION.split('.').map(Number);
  return {
    version: SERVER_VERSION,
    gitVersion: 'tributary-mongo-test-server',
    modules: [],
    allocator: 'system',
    javascriptEngine: 'none',
    sysInfo: 'deprecated',
    versionArray: [major, minor, patch, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: ['inMemory'],
    maxWireVersion: MAX_WIRE_VERSION,
  };
}

export function connectionStatusCommand(): Document {
  return { authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } };
}

export function replSetGetStatusCommand(ctx: CommandContext): Document {
  if (!ctx.state.isReplicaSet) throw new MongoCommandError(ErrorCode.NoReplicationEnabled, 'not running with --replSet');
  const time = toTimestamp(ctx.state.engine.clock.current);
  const opTime = { ts: time, t: Long.fromNumber(ctx.state.term) };
  return {
    set: ctx.state.options.replSetName,
    date: new Date(),
    myState: 1,
    term: Long.fromNumber(ctx.state.term),
    members: [{ _id: 0, name: ctx.state.address, health: 1, state: 1, stateStr: 'PRIMARY', optime: opTime, self: true }],
    optimes: { lastCommittedOpTime: opTime, appliedOpTime: opTime, durableOpTime: opTime },
  };
}

export function getParameterCommand(ctx: CommandContext): Document {
  if (ctx.db !== 'admin') throw new MongoCommandError(ErrorCode.Unauthorized, 'getParameter may only be run against the admin database.');
  if ('featureCompatibilityVersion' in ctx.command) return { featureCompatibilityVersion: { version: SERVER_VERSION.split('.').slice(0, 2).join('.') } };
  fail('NotImplemented', 'getParameter answers only featureCompatibilityVersion on the test server');
}

export function endSessionsCommand(ctx: CommandContext): Document {
  const ids = ctx.command.endSessions;
  if (!Array.isArray(ids)) fail('TypeMismatch', `BSON field 'endSessions.endSessions' must be an array of lsids`);
  ctx.state.sessions.endByIds(ids);
  return {};
}

/**
 * killSessions: the sessions' open transactions are aborted and the sessions forgotten, at once (as
 * mongod kills their operations); an empty list kills every session.
 */
export function killSessionsCommand(ctx: CommandContext): Document {
  const ids = ctx.command.killSessions;
  if (!Array.isArray(ids)) fail('TypeMismatch', `BSON field 'killSessions.killSessions' must be an array of lsids`);
  if (ids.length === 0) ctx.state.sessions.killAll();
  else ctx.state.sessions.endByIds(ids);
  return {};
}

export function configureFailPointCommand(ctx: CommandContext): Document {
  if (ctx.db !== 'admin') throw new MongoCommandError(ErrorCode.Unauthorized, 'configureFailPoint may only be run against the admin database.');
  return ctx.state.failPoints.configure(ctx.command);
}

/**
 * Databases, collections and indexes: create, drop, dropDatabase, collMod, listCollections,
 * listDatabases, createIndexes, listIndexes, dropIndexes. Collection options the server implements:
 * `changeStreamPreAndPostImages` (what fullDocumentBeforeChange and post-images need). Capped,
 * time-series, clustered collections, views, validators and non-simple collations are refused with
 * NotImplemented. Secondary indexes are recorded and listed but never used or enforced, so a unique
 * index is refused rather than silently not enforced.
 */
import type { Document } from 'mongodb';
import { identical, isPlainDocument } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import { compileFilter } from '../filter';
import { collectionArgument, flag, optionalDocument, requiredArray } from './arguments';
import { type CommandContext } from './context';
import { cursorReply } from './cursor-replies';

/** Arguments every command may carry, which are not options of the command itself. */
export const GENERIC_ARGUMENTS = new Set([
  '$db', 'lsid', 'txnNumber', 'autocommit', 'startTransaction', '$clusterTime', '$readPreference', 'readConcern',
  'writeConcern', 'comment', 'maxTimeMS', 'apiVersion', 'apiStrict', 'apiDeprecationErrors', '$client', 'clientOperationKey',
  '$audit', 'mayBypassWriteBlocking',
]);

const CREATE_OPTIONS = new Set(['changeStreamPreAndPostImages', 'idIndex', 'storageEngine', 'indexOptionDefaults', 'collation']);
const NOT_IMPLEMENTED_OPTIONS = new Set([
  'capped', 'size', 'max', 'timeseries', 'expireAfterSeconds', 'clusteredIndex', 'viewOn', 'pipeline', 'validator',
  'validationLevel', 'validationAction', 'encryptedFields', 'autoIndexId', 'recordIdsReplicated',
]);

function collectionOptions(ctx: CommandContext, commandName: string): Document {
  const options: Document = {};
  for (const key of Object.keys(ctx.command)) {
    if (key === commandName || GENERIC_ARGUMENTS.has(key)) continue;
    if (NOT_IMPLEMENTED_OPTIONS.has(key)) fail('NotImplemented', `the collection option '${key}' is not implemented by the test server`);
    if (!CREATE_OPTIONS.has(key)) throw new MongoCommandError(ErrorCode.UnknownField, `BSON field '${commandName}.${key}' is an unknown field.`);
    if (key === 'collation' && !(isPlainDocument(ctx.command.collation) && ctx.command.collation.locale === 'simple')) {
      fail('NotImplemented', `collations other than { locale: 'simple' } are not implemented by the test server`);
    }
    if (key === 'changeStreamPreAndPostImages') checkImagesOption(ctx.command[key], commandName);
    if (key === 'changeStreamPreAndPostImages') options[key] = ctx.command[key];
  }
  return options;
}

function checkImagesOption(value: unknown, commandName: string): void {
  if (!isPlainDocument(value) || typeof value.enabled !== 'boolean' || Object.keys(value).length !== 1) {
    throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field '${commandName}.changeStreamPreAndPostImages' must be { enabled: <bool> }`);
  }
}

function refuseInTransaction(ctx: CommandContext): void {
  if (ctx.transaction) {
    throw new MongoCommandError(ErrorCode.OperationNotSupportedInTransaction, `Cannot run '${ctx.name}' in a multi-document transaction.`);
  }
}

export function createCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'create', ctx.db);
  const options = collectionOptions(ctx, 'create');
  const existing = ctx.state.engine.catalog.get(ctx.db, name);
  if (existing) {
    // MongoDB 7.0+: creating an existing collection with the same options succeeds.
    if (identical(existing.options, options)) return {};
    throw new MongoCommandError(ErrorCode.NamespaceExists, `Collection ${ctx.db}.${name} already exists.`);
  }
  ctx.state.engine.catalog.create(ctx.db, name, options);
  return {};
}

export function collModCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'collMod', ctx.db);
  const store = ctx.state.engine.catalog.get(ctx.db, name);
  if (!store) throw new MongoCommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.db}.${name}`);
  for (const key of Object.keys(ctx.command)) {
    if (key === 'collMod' || GENERIC_ARGUMENTS.has(key)) continue;
    if (key !== 'changeStreamPreAndPostImages') {
      if (NOT_IMPLEMENTED_OPTIONS.has(key) || key === 'index') fail('NotImplemented', `collMod '${key}' is not implemented by the test server`);
      throw new MongoCommandError(ErrorCode.UnknownField, `BSON field 'collMod.${key}' is an unknown field.`);
    }
    checkImagesOption(ctx.command[key], 'collMod');
    store.options = { ...store.options, changeStreamPreAndPostImages: ctx.command[key] };
  }
  return {};
}

export function dropCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'drop', ctx.db);
  const store = ctx.state.engine.dropCollection(ctx.db, name);
  if (!store) return {}; // MongoDB 7.0+: dropping a missing collection succeeds.
  ctx.operationTime = ctx.state.engine.clock.current;
  return { nIndexesWas: 1 + store.indexes.length, ns: `${ctx.db}.${name}` };
}

export function dropDatabaseCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  ctx.state.engine.dropDatabase(ctx.db);
  ctx.operationTime = ctx.state.engine.clock.current;
  return { dropped: ctx.db };
}

export function listCollectionsCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const nameOnly = flag(ctx.command, 'nameOnly', false);
  const filter = compileFilter(optionalDocument(ctx.command, 'filter'));
  const entries = ctx.state.engine.catalog.collections(ctx.db).map((store) =>
    nameOnly
      ? { name: store.name, type: 'collection' }
      : {
          name: store.name,
          type: 'collection',
          options: store.options,
          info: { readOnly: false, uuid: store.uuid },
          idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
        },
  );
  return cursorReply(ctx, 'firstBatch', entries.filter(filter), undefined, `${ctx.db}.$cmd.listCollections`);
}

/** The databases every replica set member has; listed like real ones, but they hold nothing here. */
const SYSTEM_DATABASES = ['admin', 'config', 'local'];

export function listDatabasesCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  if (ctx.db !== 'admin') throw new MongoCommandError(ErrorCode.Unauthorized, `listDatabases may only be run against the admin database.`);
  const nameOnly = flag(ctx.command, 'nameOnly', false);
  const filter = compileFilter(optionalDocument(ctx.command, 'filter'));
  const names = new Set([...SYSTEM_DATABASES, ...ctx.state.engine.catalog.databaseNames()]);
  const databases = [...names].sort().map((name) => {
    const count = ctx.state.engine.catalog.collections(name).reduce((n, s) => n + s.count, 0);
    // A nominal size, so that sizeOnDisk behaves like mongod's (grows with data, never 0 for a database).
    const sizeOnDisk = 8192 * (1 + ctx.state.engine.catalog.collections(name).length) + 64 * count;
    return nameOnly ? { name } : { name, sizeOnDisk, empty: false };
  }).filter(filter);
  if (nameOnly) return { databases };
  const totalSize = databases.reduce((n, d) => n + (d.sizeOnDisk as number), 0);
  return { databases, totalSize, totalSizeMb: Math.floor(totalSize / (1024 * 1024)) };
}

export function createIndexesCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'createIndexes', ctx.db);
  const specs = requiredArray(ctx.command, 'indexes', 'createIndexes');
  const existed = ctx.state.engine.catalog.get(ctx.db, name) !== undefined;
  const store = ctx.state.engine.catalog.getOrCreate(ctx.db, name);
  const before = 1 + store.indexes.length;
  for (const spec of specs) {
    if (!isPlainDocument(spec) || !isPlainDocument(spec.key) || typeof spec.name !== 'string') {
      fail('BadValue', `each index specification needs a key document and a name`);
    }
    const isId = Object.keys(spec.key).length === 1 && '_id' in spec.key;
    if (spec.unique && !isId) fail('NotImplemented', `unique secondary indexes are not implemented by the test server (only _id is unique)`);
    if (isId || spec.name === '_id_' || store.indexes.some((i) => i.name === spec.name && identical(i.key, spec.key))) continue;
    if (store.indexes.some((i) => i.name === spec.name)) {
      throw new MongoCommandError(86, `An existing index has the same name as the requested index. Requested index: ${spec.name}`, { codeName: 'IndexKeySpecsConflict' });
    }
    store.indexes.push({ v: 2, ...spec, key: spec.key, name: spec.name });
  }
  return { numIndexesBefore: before, numIndexesAfter: 1 + store.indexes.length, createdCollectionAutomatically: !existed };
}

export function listIndexesCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'listIndexes', ctx.db);
  const store = ctx.state.engine.catalog.get(ctx.db, name);
  if (!store) throw new MongoCommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.db}.${name}`);
  const indexes = [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...store.indexes];
  return cursorReply(ctx, 'firstBatch', indexes, undefined, `${ctx.db}.${name}`);
}

export function dropIndexesCommand(ctx: CommandContext): Document {
  refuseInTransaction(ctx);
  const name = collectionArgument(ctx.command, 'dropIndexes', ctx.db);
  const store = ctx.state.engine.catalog.get(ctx.db, name);
  if (!store) throw new MongoCommandError(ErrorCode.NamespaceNotFound, `ns not found ${ctx.db}.${name}`);
  const before = 1 + store.indexes.length;
  const target = ctx.command.index;
  const names = target === '*' ? store.indexes.map((i) => i.name) : Array.isArray(target) ? target.map(String) : [];
  if (typeof target === 'string' && target !== '*') names.push(target);
  if (isPlainDocument(target)) {
    const found = store.indexes.find((i) => identical(i.key, target));
    if (!found) throw new MongoCommandError(ErrorCode.IndexNotFound, `can't find index with key: ${JSON.stringify(target)}`);
    names.push(found.name);
  }
  for (const indexName of names) {
    if (indexName === '_id_') fail('InvalidOptions', `cannot drop _id index`);
    const i = store.indexes.findIndex((x) => x.name === indexName);
    if (i < 0) throw new MongoCommandError(ErrorCode.IndexNotFound, `index not found with name [${indexName}]`);
    store.indexes.splice(i, 1);
  }
  return { nIndexesWas: before };
}

/**
 * Reading command arguments with mongod's validation and error texts: namespaces, non-negative
 * integers, documents, booleans.
 */
import type { Document } from 'mongodb';
import { isNumeric, isPlainDocument, toNumber, typeName } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';

const BAD_DB_CHARS = /[/\\. "$\u0000]/;

export function validateDatabaseName(db: unknown): string {
  if (typeof db !== 'string' || db.length === 0 || db.length >= 64 || BAD_DB_CHARS.test(db)) {
    fail('InvalidNamespace', `Invalid database name: '${String(db)}'`);
  }
  return db;
}

/** The collection a command names in its first field. */
export function collectionArgument(command: Document, name: string, db: string): string {
  const coll = command[name];
  if (typeof coll !== 'string') {
    throw new MongoCommandError(ErrorCode.InvalidNamespace, `collection name has invalid type ${typeName(coll)}`);
  }
  if (coll.length === 0 || coll.includes('\u0000') || coll.startsWith('.') || (coll.includes('$') && !coll.startsWith('system.'))) {
    fail('InvalidNamespace', `Invalid namespace specified '${db}.${coll}'`);
  }
  return coll;
}

/** Collections a client may write to (not system.*). */
export function checkWritable(db: string, coll: string): void {
  if (coll.startsWith('system.')) fail('InvalidNamespace', `Invalid namespace specified '${db}.${coll}': cannot write to a system collection`);
}

export function nonNegative(command: Document, field: string, defaultValue: number): number {
  const value = command[field];
  if (value === undefined || value === null) return defaultValue;
  if (!isNumeric(value)) {
    throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is the wrong type '${typeName(value)}', expected types '[long, int, decimal, double]'`);
  }
  const n = toNumber(value);
  if (n < 0) throw new MongoCommandError(51024, `BSON field '${field}' value must be >= 0, actual value '${n}'`);
  return Math.trunc(n);
}

export function optionalDocument(command: Document, field: string): Document | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainDocument(value)) {
    throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is the wrong type '${typeName(value)}', expected type 'object'`);
  }
  return value;
}

export function requiredArray(command: Document, field: string, commandName: string): unknown[] {
  const value = command[field];
  if (value === undefined) throw new MongoCommandError(40414, `BSON field '${commandName}.${field}' is missing but a required field`);
  if (!Array.isArray(value)) {
    throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field '${commandName}.${field}' is the wrong type '${typeName(value)}', expected type 'array'`);
  }
  return value;
}

export function flag(command: Document, field: string, defaultValue: boolean): boolean {
  const value = command[field];
  if (value === undefined || value === null) return defaultValue;
  if (typeof value === 'boolean') return value;
  if (isNumeric(value)) return toNumber(value) !== 0;
  throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field '${field}' is the wrong type '${typeName(value)}', expected type 'bool'`);
}

/** `collation` is accepted only as the simple (binary) collation, which is what the server implements. */
export function checkCollation(command: Document): void {
  const collation = command.collation;
  if (collation === undefined) return;
  if (!isPlainDocument(collation) || collation.locale !== 'simple') {
    fail('NotImplemented', `collations other than { locale: 'simple' } are not implemented by the test server`);
  }
}

import { TributaryError } from '../errors';
import { LinkArg } from '../query';
import { objectInternals } from './object-internals';

export type SortSpec = [keyPath: string, descending: boolean];
export type AggregateOperation = 'min' | 'max' | 'sum' | 'avg';

/** Query arguments as the engine takes them: Realm objects become links (type, key). */
export function queryArgs(args: readonly unknown[]): unknown[] {
  return args.map((a) => {
    const i = objectInternals(a);
    return i ? new LinkArg(i.type, i.id) : a;
  });
}

/**
 * Normalises realm-js sort descriptors: `'name'`, `('name', true)`, `['a', 'b']`,
 * `[['a', true], 'b']` and the lone pair `['name', true]`.
 */
export function sortSpecs(descriptor: unknown, reverse = false): SortSpec[] {
  if (typeof descriptor === 'string') return [[descriptor, !!reverse]];
  if (Array.isArray(descriptor)) {
    if (descriptor.length === 2 && typeof descriptor[0] === 'string' && typeof descriptor[1] === 'boolean') return [[descriptor[0], descriptor[1]]];
    return descriptor.map((d) => {
      if (typeof d === 'string') return [d, false] as SortSpec;
      if (Array.isArray(d) && typeof d[0] === 'string') return [d[0], !!d[1]] as SortSpec;
      throw new TributaryError('INVALID_QUERY', `sorted(): bad sort descriptor ${JSON.stringify(d)}`);
    });
  }
  throw new TributaryError('INVALID_QUERY', `sorted() expects a key path or an array of [keyPath, descending] pairs`);
}

import type { ObjectRecord } from '../changeset/state';
import type { Predicate } from './ast';
import { compileComparison } from './compare';
import { compileOperand } from './operands';
import { parseQuery } from './parser';
import { compilePost } from './post';
import { queryError } from './query-error';
import type { CompiledQuery, CompileContext, Matcher, QueryStore } from './types';

const NO_VARS: ObjectRecord[] = [];

/**
 * Parses a query once, resolves its key paths against the schema of `type`, binds its arguments
 * and returns closures to run over many objects.
 *
 * @example
 * const q = compileQuery(store, 'Person', 'age >= $0 AND dogs.name BEGINSWITH[c] "r" SORT(name ASC)', [18]);
 * const hits = q.post([...store.objects('Person')].filter((r) => q.matches(r, store)), store);
 */
export function compileQuery(store: QueryStore, type: string, query: string, args: unknown[] = []): CompiledQuery {
  if (typeof query !== 'string') throw queryError(String(query), 0, 'the query must be a string');
  if (!store.getSchema(type)) throw queryError(query, 0, `no object type '${type}' in the schema`);
  const ast = parseQuery(query);
  const ctx: CompileContext = { store, text: query, rootType: type, args, variables: new Map(), slots: { count: 0 } };
  const predicate = compilePredicate(ctx, ast.predicate);
  const post = compilePost(ctx, ast.post);
  const slots = ctx.slots.count;
  const matches: CompiledQuery['matches'] =
    slots === 0 ? (record, s) => predicate(record, s, NO_VARS) : (record, s) => predicate(record, s, new Array<ObjectRecord>(slots));
  return { type, text: query, matches, post, hasPostClauses: ast.post.length > 0 };
}

export function compilePredicate(ctx: CompileContext, p: Predicate): Matcher {
  switch (p.kind) {
    case 'const': {
      const value = p.value;
      return () => value;
    }
    case 'not': {
      const inner = compilePredicate(ctx, p.operand);
      return (r, s, v) => !inner(r, s, v);
    }
    case 'and': {
      const parts = p.operands.map((o) => compilePredicate(ctx, o));
      if (parts.length === 2) {
        const [a, b] = parts as [Matcher, Matcher];
        return (r, s, v) => a(r, s, v) && b(r, s, v);
      }
      return (r, s, v) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i]!(r, s, v)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = p.operands.map((o) => compilePredicate(ctx, o));
      if (parts.length === 2) {
        const [a, b] = parts as [Matcher, Matcher];
        return (r, s, v) => a(r, s, v) || b(r, s, v);
      }
      return (r, s, v) => {
        for (let i = 0; i < parts.length; i++) if (parts[i]!(r, s, v)) return true;
        return false;
      };
    }
    case 'compare': {
      const left = compileOperand(ctx, p.left, compilePredicate);
      const right = compileOperand(ctx, p.right, compilePredicate);
      return compileComparison(ctx, p, left, right);
    }
  }
}

/** Filters and post-processes in one go: what `Results` does with a compiled query. */
export function runQuery(q: CompiledQuery, store: QueryStore, records: Iterable<ObjectRecord>): ObjectRecord[] {
  const out: ObjectRecord[] = [];
  for (const r of records) if (q.matches(r, store)) out.push(r);
  return q.hasPostClauses ? q.post(out, store) : out;
}

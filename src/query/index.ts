/**
 * Realm's query language (NSPredicate-derived, as in realm-js 2.x–10.x) over replica records:
 * a hand-written tokenizer and recursive-descent parser produce an AST; `compileQuery` resolves
 * key paths against the schema, checks types, binds arguments and returns closures that run over
 * many records. Pure: no Node imports. The language as implemented is documented in docs/query.md.
 */
export { LinkArg } from './types';
export type { CompiledQuery, QueryStore } from './types';
export { compileQuery, runQuery } from './compile';
export { sortRecords } from './post';
export { aggregate } from './aggregate';
export { parseQuery } from './parser';
export type { QueryAst } from './ast';

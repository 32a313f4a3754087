/** The parsed form of a query, before key paths are resolved against a schema. */

export interface Segment {
  /** A property name, a type name after `@links`, or a collection operator (with `at`). */
  name: string;
  /** True for `@count`, `@size`, `@sum`, `@avg`, `@min`, `@max`, `@links`. */
  at: boolean;
  offset: number;
}

export interface KeyPathExpr {
  kind: 'keypath';
  /** The SUBQUERY variable the path starts from (`$x.age`), or undefined for the queried object. */
  variable?: string;
  segments: Segment[];
  offset: number;
}

export type LiteralType = 'number' | 'string' | 'bool' | 'null' | 'date' | 'data' | 'oid' | 'uuid';

export interface LiteralExpr {
  kind: 'literal';
  type: LiteralType;
  text: string;
  offset: number;
}

export interface ArgExpr {
  kind: 'arg';
  index: number;
  offset: number;
}

/** `{a, b, c}`: the right side of IN and BETWEEN. */
export interface ListExpr {
  kind: 'list';
  items: Expr[];
  offset: number;
}

export interface SubqueryExpr {
  kind: 'subquery';
  collection: KeyPathExpr;
  variable: string;
  predicate: Predicate;
  /** `@count` or `@size` (the only operators Realm allows after a SUBQUERY). */
  operator: string;
  offset: number;
}

export type Expr = KeyPathExpr | LiteralExpr | ArgExpr | ListExpr | SubqueryExpr;

export type Quantifier = 'any' | 'all' | 'none';
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'beginswith' | 'endswith' | 'contains' | 'like' | 'in' | 'between';

export interface ComparePredicate {
  kind: 'compare';
  op: CompareOp;
  left: Expr;
  right: Expr;
  quantifier?: Quantifier;
  caseInsensitive: boolean;
  diacriticInsensitive: boolean;
  offset: number;
  /** Offset of the operator, for error messages about it. */
  opOffset: number;
}

export type Predicate =
  | { kind: 'and' | 'or'; operands: Predicate[] }
  | { kind: 'not'; operand: Predicate }
  | { kind: 'const'; value: boolean }
  | ComparePredicate;

export type PostClause =
  | { kind: 'sort'; keys: Array<{ path: KeyPathExpr; descending: boolean }>; offset: number }
  | { kind: 'distinct'; keys: KeyPathExpr[]; offset: number }
  | { kind: 'limit'; count: number; offset: number };

export interface QueryAst {
  predicate: Predicate;
  post: PostClause[];
}

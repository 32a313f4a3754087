import type { CompareOp, Expr, KeyPathExpr, PostClause, Predicate, QueryAst, Quantifier, Segment } from './ast';
import { queryError } from './query-error';
import { Token, tokenize } from './tokenizer';

const WORD_OPS: Record<string, CompareOp> = { BEGINSWITH: 'beginswith', ENDSWITH: 'endswith', CONTAINS: 'contains', LIKE: 'like', IN: 'in', BETWEEN: 'between' };
const SYMBOL_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const QUANTIFIERS: Record<string, Quantifier> = { ANY: 'any', SOME: 'any', ALL: 'all', NONE: 'none' };
const LITERAL_WORDS: Record<string, 'bool' | 'null'> = { TRUE: 'bool', FALSE: 'bool', NULL: 'null', NIL: 'null' };

/**
 * Recursive-descent parser for Realm's query language:
 *
 *     query      := or post* END
 *     or         := and (('OR' | '||') and)*
 *     and        := not (('AND' | '&&') not)*
 *     not        := ('NOT' | '!') not | '(' or ')' | TRUEPREDICATE | FALSEPREDICATE | comparison
 *     comparison := quantifier? expr op modifier? expr
 *     post       := SORT '(' keypath (ASC|DESC) , … ')' | DISTINCT '(' keypath , … ')' | LIMIT '(' int ')'
 *
 * Keywords are case-insensitive, as in Realm.
 */
export function parseQuery(text: string): QueryAst {
  return new Parser(text).parse();
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parse(): QueryAst {
    if (this.peek().kind === 'end') throw this.fail('the query is empty; use TRUEPREDICATE to match everything');
    if (this.isPostKeyword(this.peek())) throw this.fail(`expected a predicate before ${this.peek().text.toUpperCase()} (e.g. 'TRUEPREDICATE ${this.peek().text.toUpperCase()}(…)')`);
    const predicate = this.parseOr();
    const post: PostClause[] = [];
    while (this.isPostKeyword(this.peek())) post.push(this.parsePost());
    const t = this.peek();
    if (t.kind !== 'end') throw this.fail(`unexpected ${describe(t, this.text)}; expected AND, OR, SORT, DISTINCT, LIMIT or the end of the query`);
    return { predicate, post };
  }

  // ---- predicates

  private parseOr(): Predicate {
    const operands = [this.parseAnd()];
    while (this.isWord('OR') || this.isOp('||')) {
      this.pos++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(): Predicate {
    const operands = [this.parseNot()];
    while (this.isWord('AND') || this.isOp('&&')) {
      this.pos++;
      operands.push(this.parseNot());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parseNot(): Predicate {
    if (this.isWord('NOT') || this.isOp('!')) {
      this.pos++;
      return { kind: 'not', operand: this.parseNot() };
    }
    if (this.isOp('(')) {
      this.pos++;
      const inner = this.parseOr();
      this.expectOp(')', "expected ')' to close the parenthesis");
      return inner;
    }
    if (this.isWord('TRUEPREDICATE')) {
      this.pos++;
      return { kind: 'const', value: true };
    }
    if (this.isWord('FALSEPREDICATE')) {
      this.pos++;
      return { kind: 'const', value: false };
    }
    return this.parseComparison();
  }

  private parseComparison(): Predicate {
    const start = this.peek();
    let quantifier: Quantifier | undefined;
    const q = start.kind === 'ident' ? QUANTIFIERS[start.text.toUpperCase()] : undefined;
    if (q && ['ident', 'at', 'var'].includes(this.peek(1).kind)) {
      quantifier = q;
      this.pos++;
    }
    const left = this.parseExpr('a property, value or predicate');
    const opToken = this.peek();
    let op: CompareOp | undefined;
    if (opToken.kind === 'op' && SYMBOL_OPS.has(opToken.text)) op = opToken.text as CompareOp;
    else if (opToken.kind === 'ident') op = WORD_OPS[opToken.text.toUpperCase()];
    if (!op) {
      const after = left.kind === 'keypath' ? `after '${this.text.slice(left.offset, opToken.offset).trim()}'` : 'after the value';
      throw this.fail(`expected a comparison operator (==, !=, <, <=, >, >=, BEGINSWITH, ENDSWITH, CONTAINS, LIKE, IN, BETWEEN) ${after}, found ${describe(opToken, this.text)}`);
    }
    this.pos++;
    let caseInsensitive = false;
    let diacriticInsensitive = false;
    if (this.isOp('[')) {
      const modOffset = this.peek().offset;
      this.pos++;
      const m = this.peek();
      if (m.kind !== 'ident' || !/^[cd]{1,2}$/i.test(m.text)) throw this.fail(`expected a modifier [c], [d] or [cd] after '${opToken.text}'`);
      caseInsensitive = /c/i.test(m.text);
      diacriticInsensitive = /d/i.test(m.text);
      this.pos++;
      this.expectOp(']', "expected ']' to close the modifier");
      if (op === 'in' || op === 'between') throw queryError(this.text, modOffset, `modifiers are not supported after ${op.toUpperCase()}`);
    }
    const right = this.parseExpr(`a value after '${opToken.text}'`);
    return { kind: 'compare', op, left, right, quantifier, caseInsensitive, diacriticInsensitive, offset: start.offset, opOffset: opToken.offset };
  }

  // ---- expressions

  private parseExpr(what: string): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
      case 'string':
      case 'date':
      case 'data':
      case 'oid':
      case 'uuid':
        this.pos++;
        return { kind: 'literal', type: t.kind, text: t.text, offset: t.offset };
      case 'arg':
        this.pos++;
        return { kind: 'arg', index: Number(t.text), offset: t.offset };
      case 'var':
        this.pos++;
        return this.parseKeyPathRest({ kind: 'keypath', variable: t.text, segments: [], offset: t.offset }, true);
      case 'at':
        return this.parseKeyPath();
      case 'ident': {
        const word = t.text.toUpperCase();
        if (LITERAL_WORDS[word] && !this.isOp('.', 1)) {
          this.pos++;
          return { kind: 'literal', type: LITERAL_WORDS[word]!, text: word.toLowerCase(), offset: t.offset };
        }
        if (word === 'SUBQUERY' && this.isOp('(', 1)) return this.parseSubquery();
        return this.parseKeyPath();
      }
      case 'op':
        if (t.text === '{') return this.parseList();
        break;
      default:
        break;
    }
    throw this.fail(`expected ${what}, found ${describe(t, this.text)}`);
  }

  private parseKeyPath(): KeyPathExpr {
    const first = this.peek();
    return this.parseKeyPathRest({ kind: 'keypath', segments: [], offset: first.offset }, false);
  }

  /** Reads `seg (. seg)*`; after a variable the first segment must be preceded by a dot. */
  private parseKeyPathRest(path: KeyPathExpr, afterVariable: boolean): KeyPathExpr {
    if (afterVariable && !this.isOp('.')) return path;
    if (afterVariable) this.pos++;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'ident' && t.kind !== 'at') throw this.fail(`expected a property name, found ${describe(t, this.text)}`);
      path.segments.push({ name: t.text, at: t.kind === 'at', offset: t.offset });
      this.pos++;
      if (!this.isOp('.')) return path;
      this.pos++;
    }
  }

  private parseList(): Expr {
    const open = this.next();
    const items: Expr[] = [];
    if (!this.isOp('}')) {
      for (;;) {
        items.push(this.parseExpr('a value in the list'));
        if (this.isOp(',')) {
          this.pos++;
          continue;
        }
        break;
      }
    }
    this.expectOp('}', "expected ',' or '}' in the list");
    return { kind: 'list', items, offset: open.offset };
  }

  private parseSubquery(): Expr {
    const start = this.next();
    this.pos++; // '('
    const first = this.peek();
    let collection: KeyPathExpr;
    if (first.kind === 'var') {
      this.pos++;
      collection = this.parseKeyPathRest({ kind: 'keypath', variable: first.text, segments: [], offset: first.offset }, true);
    } else collection = this.parseKeyPath();
    this.expectOp(',', "expected ',' after the SUBQUERY collection");
    const v = this.peek();
    if (v.kind !== 'var') throw this.fail(`expected a variable such as $x as the second SUBQUERY argument, found ${describe(v, this.text)}`);
    this.pos++;
    this.expectOp(',', "expected ',' after the SUBQUERY variable");
    const predicate = this.parseOr();
    this.expectOp(')', "expected ')' to close the SUBQUERY");
    this.expectOp('.', "a SUBQUERY must be followed by '.@count' or '.@size'");
    const op = this.peek();
    if (op.kind !== 'at' || !['count', 'size'].includes(op.text.toLowerCase())) throw this.fail("a SUBQUERY must be followed by '.@count' or '.@size'");
    this.pos++;
    return { kind: 'subquery', collection, variable: v.text, predicate, operator: op.text.toLowerCase(), offset: start.offset };
  }

  // ---- SORT / DISTINCT / LIMIT

  private parsePost(): PostClause {
    const kw = this.next();
    const word = kw.text.toUpperCase();
    this.expectOp('(', `expected '(' after ${word}`);
    if (word === 'LIMIT') {
      const n = this.peek();
      if (n.kind !== 'number' || !/^\d+$/.test(n.text)) throw this.fail('LIMIT takes a non-negative integer');
      this.pos++;
      this.expectOp(')', "expected ')' to close LIMIT");
      return { kind: 'limit', count: Number(n.text), offset: kw.offset };
    }
    const keys: Array<{ path: KeyPathExpr; descending: boolean }> = [];
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'ident') throw this.fail(`expected a property name in ${word}, found ${describe(t, this.text)}`);
      const path = this.parseKeyPath();
      let descending = false;
      if (word === 'SORT') {
        const dir = this.peek();
        const d = dir.kind === 'ident' ? dir.text.toUpperCase() : '';
        if (d === 'ASC' || d === 'ASCENDING') descending = false;
        else if (d === 'DESC' || d === 'DESCENDING') descending = true;
        else throw this.fail(`expected ASC or DESC after the SORT key path, found ${describe(dir, this.text)}`);
        this.pos++;
      }
      keys.push({ path, descending });
      if (this.isOp(',')) {
        this.pos++;
        continue;
      }
      break;
    }
    this.expectOp(')', `expected ',' or ')' in ${word}`);
    return word === 'SORT' ? { kind: 'sort', keys, offset: kw.offset } : { kind: 'distinct', keys: keys.map((k) => k.path), offset: kw.offset };
  }

  // ---- helpers

  private isPostKeyword(t: Token): boolean {
    return t.kind === 'ident' && ['SORT', 'DISTINCT', 'LIMIT'].includes(t.text.toUpperCase()) && this.tokens[this.tokens.indexOf(t) + 1]?.text === '(';
  }
  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private isWord(word: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }
  private isOp(op: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'op' && t.text === op;
  }
  private expectOp(op: string, message: string): void {
    if (!this.isOp(op)) throw this.fail(`${message}, found ${describe(this.peek(), this.text)}`);
    this.pos++;
  }
  private fail(message: string): Error {
    return queryError(this.text, this.peek().offset, message);
  }
}

function describe(t: Token, text?: string): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the query';
    case 'string':
      return `the string ${JSON.stringify(t.text)}`;
    case 'at':
      return `'@${t.text}'`;
    case 'arg':
    case 'var':
      return `'$${t.text}'`;
    default:
      return `'${text !== undefined ? text.slice(t.offset, t.end) : t.text}'`;
  }
}

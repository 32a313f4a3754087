/**
 * A cursor over a batch's tokens with the small vocabulary every statement parser shares:
 * keywords, multi-part object names, aliases and data types.
 */
import { SqlType, TypeName } from '../engine/sql-types';
import { ObjectName } from './ast';
import { SqlToken } from './lexer';

export class ParseError extends Error {
  constructor(message: string, readonly token: SqlToken) {
    super(message);
  }
}

/** Words that end an expression or a table source, so they are never taken as an alias. */
export const RESERVED = new Set([
  'ADD', 'ALL', 'ALTER', 'AND', 'ANY', 'AS', 'ASC', 'BEGIN', 'BETWEEN', 'BY', 'CASE', 'CHECK', 'COLLATE', 'COMMIT', 'CONSTRAINT', 'CREATE',
  'CROSS', 'DECLARE', 'DEFAULT', 'DELETE', 'DESC', 'DISTINCT', 'DROP', 'ELSE', 'END', 'EXCEPT', 'EXEC', 'EXECUTE', 'EXISTS', 'FETCH',
  'FOR', 'FOREIGN', 'FROM', 'FULL', 'GO', 'GROUP', 'HAVING', 'IF', 'IN', 'INNER', 'INSERT', 'INTERSECT', 'INTO', 'IS', 'JOIN', 'LEFT',
  'LIKE', 'MERGE', 'NOT', 'NULL', 'OFFSET', 'ON', 'OPTION', 'OR', 'ORDER', 'OUTER', 'OUTPUT', 'PRIMARY', 'PRINT', 'REFERENCES',
  'RETURN', 'RIGHT', 'ROLLBACK', 'SAVE', 'SELECT', 'SET', 'THEN', 'TOP', 'TRAN', 'TRANSACTION', 'TRUNCATE', 'UNION', 'UNIQUE',
  'UPDATE', 'USE', 'USING', 'VALUES', 'WHEN', 'WHERE', 'WITH',
]);

export class Cursor {
  index = 0;
  constructor(readonly tokens: SqlToken[], readonly sql: string) {}

  peek(offset = 0): SqlToken {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }
  next(): SqlToken {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }
  atEnd(): boolean {
    return this.peek().kind === 'eof';
  }
  fail(message?: string): never {
    const t = this.peek();
    throw new ParseError(message ?? `Incorrect syntax near '${t.kind === 'eof' ? 'end of statement' : t.value}'.`, t);
  }

  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && !t.quoted && t.value.toUpperCase() === word;
  }
  acceptKeyword(...words: string[]): boolean {
    for (let i = 0; i < words.length; i++) if (!this.isKeyword(words[i]!, i)) return false;
    this.index += words.length;
    return true;
  }
  expectKeyword(...words: string[]): void {
    for (const w of words) {
      if (!this.isKeyword(w)) this.fail();
      this.next();
    }
  }
  isOp(op: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'op' && t.value === op;
  }
  acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.next();
    return true;
  }
  expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail();
  }

  /** An identifier: any word, or a bracketed/quoted name. */
  identifier(): string {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail();
    this.next();
    return t.value;
  }
  isIdentifier(): boolean {
    const t = this.peek();
    return t.kind === 'ident' && (t.quoted === true || !RESERVED.has(t.value.toUpperCase()));
  }

  /** `[db.][schema.]name`, each part plain or bracketed. */
  objectName(): ObjectName {
    const parts = [this.identifier()];
    while (this.isOp('.')) {
      this.next();
      // `db..table` leaves the schema out.
      if (this.isOp('.')) { parts.push(''); continue; }
      parts.push(this.identifier());
    }
    if (parts.length === 1) return { name: parts[0]! };
    if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
    return { database: parts[parts.length - 3]!, schema: parts[parts.length - 2] || undefined, name: parts[parts.length - 1]! };
  }

  /** `[AS] alias` when one follows. */
  optionalAlias(): string | undefined {
    if (this.acceptKeyword('AS')) return this.identifier();
    if (this.isIdentifier() && this.peek().kind === 'ident') {
      const t = this.peek();
      // A string after AS-less position is not an alias; only identifiers are.
      return t.kind === 'ident' ? this.identifier() : undefined;
    }
    return undefined;
  }

  /** `( a, b, c )` */
  identifierList(): string[] {
    this.expectOp('(');
    const out = [this.identifier()];
    while (this.acceptOp(',')) out.push(this.identifier());
    this.expectOp(')');
    return out;
  }

  integer(): number {
    const t = this.peek();
    let sign = 1;
    if (t.kind === 'op' && t.value === '-') { this.next(); sign = -1; }
    const n = this.next();
    if (n.kind !== 'number' || !/^\d+$/.test(n.value)) this.fail();
    return sign * Number(n.value);
  }

  /** The source text from token `from` up to (not including) the current token. */
  textFrom(from: number): string {
    const start = this.tokens[from]!.start;
    const end = this.index > from ? this.tokens[this.index - 1]!.end : start;
    return this.sql.slice(start, end);
  }

  dataType(): SqlType {
    const word = this.identifier().toLowerCase();
    const args: Array<number | 'max'> = [];
    if (this.acceptOp('(')) {
      do {
        if (this.acceptKeyword('MAX')) args.push('max');
        else args.push(this.integer());
      } while (this.acceptOp(','));
      this.expectOp(')');
    }
    const simple = (name: TypeName): SqlType => ({ name });
    switch (word) {
      case 'bit': case 'tinyint': case 'smallint': case 'int': case 'bigint': case 'money': case 'smallmoney': case 'real':
      case 'text': case 'ntext': case 'xml': case 'image': case 'date': case 'datetime': case 'smalldatetime': case 'uniqueidentifier':
        return simple(word);
      case 'integer': return simple('int');
      case 'rowversion': case 'timestamp': return simple('rowversion');
      case 'float': return typeof args[0] === 'number' && args[0] <= 24 ? simple('real') : simple('float');
      case 'decimal': case 'dec': case 'numeric':
        return { name: word === 'numeric' ? 'numeric' : 'decimal', precision: (args[0] as number | undefined) ?? 18, scale: (args[1] as number | undefined) ?? 0 };
      case 'char': case 'varchar': case 'nchar': case 'nvarchar': case 'binary': case 'varbinary':
        return { name: word, length: args[0] ?? 1 };
      case 'sysname': return { name: 'nvarchar', length: 128 };
      case 'time': case 'datetime2': case 'datetimeoffset':
        return { name: word, scale: (args[0] as number | undefined) ?? 7 };
      default:
        throw new ParseError(`Column, parameter, or variable: Cannot find data type ${word}.`, this.peek(-1));
    }
  }
}

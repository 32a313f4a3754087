/**
 * T-SQL tokens: identifiers (plain, [bracketed], "quoted"), string literals ('…', N'…' with ''
 * escapes), numbers, 0x binary literals, @variables, @@functions, operators and punctuation.
 * Comments (line comments and nested block comments) are skipped. Positions are kept so a
 * statement's own text can be cut out of a batch.
 */

export type TokenKind = 'ident' | 'string' | 'number' | 'binary' | 'variable' | 'op' | 'eof';

export interface SqlToken {
  kind: TokenKind;
  /** Identifier text (unquoted), string contents, number text, variable name with its '@'. */
  value: string;
  /** For identifiers: written in brackets or quotes, so never a keyword. */
  quoted?: boolean;
  /** For strings: an N'…' literal. */
  unicode?: boolean;
  start: number;
  end: number;
}

export class LexError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

const OPERATORS = ['<>', '!=', '<=', '>=', '!<', '!>', '+=', '-=', '*=', '/=', '::', '(', ')', ',', '.', ';', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^', '~'];

function isIdentStart(c: string): boolean {
  return /[A-Za-z_#\u0080-\uffff]/.test(c);
}

function isIdentPart(c: string): boolean {
  return /[A-Za-z0-9_#$@\u0080-\uffff]/.test(c);
}

export function tokenize(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; }
        else i++;
      }
      continue;
    }
    const start = i;
    if ((c === 'N' || c === 'n') && sql[i + 1] === "'") {
      const { value, end } = readQuoted(sql, i + 1, "'");
      tokens.push({ kind: 'string', value, unicode: true, start, end });
      i = end;
      continue;
    }
    if (c === "'") {
      const { value, end } = readQuoted(sql, i, "'");
      tokens.push({ kind: 'string', value, unicode: false, start, end });
      i = end;
      continue;
    }
    if (c === '[') {
      const { value, end } = readQuoted(sql, i, ']');
      tokens.push({ kind: 'ident', value, quoted: true, start, end });
      i = end;
      continue;
    }
    if (c === '"') {
      const { value, end } = readQuoted(sql, i, '"');
      tokens.push({ kind: 'ident', value, quoted: true, start, end });
      i = end;
      continue;
    }
    if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'X')) {
      let j = i + 2;
      while (j < n && /[0-9A-Fa-f]/.test(sql[j]!)) j++;
      tokens.push({ kind: 'binary', value: sql.slice(i + 2, j), start, end: j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i;
      while (j < n && /[0-9]/.test(sql[j]!)) j++;
      if (sql[j] === '.') { j++; while (j < n && /[0-9]/.test(sql[j]!)) j++; }
      if ((sql[j] === 'e' || sql[j] === 'E') && /[-+0-9]/.test(sql[j + 1] ?? '')) {
        j += 2;
        while (j < n && /[0-9]/.test(sql[j]!)) j++;
      }
      tokens.push({ kind: 'number', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    if (c === '@') {
      let j = i + 1;
      if (sql[j] === '@') j++;
      while (j < n && isIdentPart(sql[j]!)) j++;
      tokens.push({ kind: 'variable', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    if (c === '$' && /[A-Za-z]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < n && isIdentPart(sql[j]!)) j++;
      tokens.push({ kind: 'ident', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql[j]!)) j++;
      tokens.push({ kind: 'ident', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (!op) throw new LexError(`Unexpected character '${c}'`, i);
    tokens.push({ kind: 'op', value: op, start, end: i + op.length });
    i += op.length;
  }
  tokens.push({ kind: 'eof', value: '', start: n, end: n });
  return tokens;
}

function readQuoted(sql: string, open: number, close: string): { value: string; end: number } {
  let i = open + 1;
  let value = '';
  for (;;) {
    if (i >= sql.length) throw new LexError(`Unclosed quotation mark after the character string '${value}'.`, open);
    const c = sql[i]!;
    if (c === close) {
      if (sql[i + 1] === close) { value += close; i += 2; continue; }
      return { value, end: i + 1 };
    }
    value += c;
    i++;
  }
}

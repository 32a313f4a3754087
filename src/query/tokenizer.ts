import { queryError } from './query-error';

export type TokenKind =
  | 'ident' // a name or keyword (keywords are recognised case-insensitively by the parser)
  | 'at' // @count, @links, … (text holds the name without '@')
  | 'arg' // $0, $1, … (text holds the digits)
  | 'var' // $x, a SUBQUERY variable (text holds the name without '$')
  | 'number'
  | 'string'
  | 'date' // T<seconds>:<nanos> or YYYY-MM-DD@HH:MM:SS[:NANOS]
  | 'data' // B64"…"
  | 'oid' // oid(<24 hex>)
  | 'uuid' // uuid(<dashed uuid>)
  | 'op' // == != < <= > >= && || ! and punctuation ( ) { } , . [ ]
  | 'end';

export interface Token {
  kind: TokenKind;
  /** For strings: the unescaped contents; otherwise the source text (minus sigils noted above). */
  text: string;
  offset: number;
  /** Offset just past the token. */
  end: number;
}

const OPERATORS = ['==', '!=', '<>', '<=', '=<', '>=', '=>', '&&', '||', '=', '<', '>', '!', '(', ')', '{', '}', ',', '.', '[', ']'];
const OP_ALIASES: Record<string, string> = { '=': '==', '<>': '!=', '=<': '<=', '=>': '>=' };

const DATE_READABLE = /^\d{4}-\d{1,2}-\d{1,2}[@T]\d{1,2}:\d{1,2}:\d{1,2}(?::\d+|\.\d+)?/;
const DATE_TIMESTAMP = /^T-?\d+:-?\d+/;
const OID = /^oid\(\s*([0-9a-fA-F]{24})\s*\)/;
const UUID_LITERAL = /^uuid\(\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\s*\)/;
const NUMBER = /^(0[xX][0-9a-fA-F]+|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)/;

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\u007f';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

/** Splits a query into tokens; the last one is always `end`. Throws INVALID_QUERY on a stray character. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    const rest = text.slice(i, i + 64);
    const prevIsIdent = start > 0 && isIdentPart(text[start - 1]!);
    let m: RegExpExecArray | null;
    if (c === "'" || c === '"') {
      const { value, end } = readString(text, i);
      out.push({ kind: 'string', text: value, offset: start, end });
      i = end;
    } else if (!prevIsIdent && (c === 'B' || c === 'b') && text.slice(i, i + 3).toUpperCase() === 'B64' && (text[i + 3] === '"' || text[i + 3] === "'")) {
      const { value, end } = readString(text, i + 3);
      out.push({ kind: 'data', text: value, offset: start, end });
      i = end;
    } else if (!prevIsIdent && (m = DATE_READABLE.exec(rest)) && !isIdentPart(text[i + m[0].length] ?? ' ')) {
      out.push({ kind: 'date', text: m[0], offset: start, end: i + m[0].length });
      i += m[0].length;
    } else if (!prevIsIdent && (m = DATE_TIMESTAMP.exec(rest)) && !isIdentPart(text[i + m[0].length] ?? ' ')) {
      out.push({ kind: 'date', text: m[0], offset: start, end: i + m[0].length });
      i += m[0].length;
    } else if (!prevIsIdent && (m = OID.exec(text.slice(i, i + 40)))) {
      out.push({ kind: 'oid', text: m[1]!, offset: start, end: i + m[0].length });
      i += m[0].length;
    } else if (!prevIsIdent && (m = UUID_LITERAL.exec(text.slice(i, i + 60)))) {
      out.push({ kind: 'uuid', text: m[1]!, offset: start, end: i + m[0].length });
      i += m[0].length;
    } else if ((c >= '0' && c <= '9') || ((c === '.' || c === '-') && /[0-9.]/.test(text[i + 1] ?? '') && NUMBER.test(text.slice(i + 1, i + 3)))) {
      const sign = c === '-' ? '-' : '';
      m = NUMBER.exec(text.slice(i + sign.length, i + 64))!;
      const end = i + sign.length + m[0].length;
      if (isIdentPart(text[end] ?? ' ')) throw queryError(text, end, `unexpected '${text[end]}' in a number`);
      out.push({ kind: 'number', text: sign + m[0], offset: start, end });
      i = end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text[j]!)) j++;
      out.push({ kind: 'ident', text: text.slice(i, j), offset: start, end: j });
      i = j;
    } else if (c === '@' || c === '$') {
      let j = i + 1;
      while (j < n && isIdentPart(text[j]!)) j++;
      const name = text.slice(i + 1, j);
      if (name === '') throw queryError(text, i, `expected a name after '${c}'`);
      if (c === '@') out.push({ kind: 'at', text: name, offset: start, end: j });
      else if (/^\d+$/.test(name)) out.push({ kind: 'arg', text: name, offset: start, end: j });
      else if (/^\d/.test(name)) throw queryError(text, i, `invalid argument or variable '$${name}'`);
      else out.push({ kind: 'var', text: name, offset: start, end: j });
      i = j;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) throw queryError(text, i, `unexpected character '${c}'`);
      out.push({ kind: 'op', text: OP_ALIASES[op] ?? op, offset: start, end: i + op.length });
      i += op.length;
    }
  }
  out.push({ kind: 'end', text: '', offset: n, end: n });
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

/** Reads a quoted string starting at `start` (the quote); returns its unescaped value. */
function readString(text: string, start: number): { value: string; end: number } {
  const quote = text[start]!;
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) return { value, end: i + 1 };
    if (c === '\\') {
      const e = text[i + 1];
      if (e === undefined) break;
      if (e === 'u') {
        const hex = /^[0-9a-fA-F]{4}/.exec(text.slice(i + 2, i + 6));
        if (!hex) throw queryError(text, i, 'expected 4 hex digits after \\u');
        value += String.fromCharCode(parseInt(hex[0], 16));
        i += 6;
        continue;
      }
      // Unknown escapes keep the backslash, so LIKE patterns can escape their wildcards (\* and \?).
      value += ESCAPES[e] ?? `\\${e}`;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  throw queryError(text, start, `unterminated string (missing closing ${quote})`);
}

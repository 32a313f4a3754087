import { TributaryError } from '../errors';

/** Line and column (both 1-based) of a UTF-16 offset in the query text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * The one error a query can raise: `INVALID_QUERY`, with the position in the text so that a user
 * can find the mistake in a long query (`… at offset 14 (line 1, column 15): expected a value`).
 */
export function queryError(text: string, offset: number, message: string): TributaryError {
  const { line, column } = lineColumn(text, offset);
  const err = new TributaryError('INVALID_QUERY', `Invalid query '${clip(text)}' at offset ${offset} (line ${line}, column ${column}): ${message}`);
  (err as TributaryError & { offset?: number }).offset = offset;
  return err;
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

import type { ObjectKey } from '../../src/model';

/**
 * Realm keys as the kit handles them whatever the database: a map key for any primary key, and a
 * reversible encoding of a composite key (several key columns) into the one string property a
 * realm object's primary key can be.
 */

/** A key as text for maps (`number:7` and `string:7` differ; ObjectId and UUID by their text). */
export function keyText(key: ObjectKey): string {
  return typeof key === 'object' ? String(key) : `${typeof key}:${String(key)}`;
}

/** An object of `type` with `key`, as one map key. */
export function objectKeyId(type: string, key: ObjectKey): string {
  return `${type}\u0000${keyText(key)}`;
}

/**
 * Composite keys become one string: each key column's text, `\` and `|` escaped, joined by `|`.
 *
 * @example
 * encodeCompositeKey(['t1', 'a|b']); // 't1|a\\|b'
 */
export function encodeCompositeKey(parts: string[]): string {
  return parts.map((p) => p.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')).join('|');
}

/** The inverse of {@link encodeCompositeKey}. */
export function decodeCompositeKey(key: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    if (key[i] === '\\') cur += key[++i];
    else if (key[i] === '|') {
      out.push(cur);
      cur = '';
    } else cur += key[i];
  }
  out.push(cur);
  return out;
}

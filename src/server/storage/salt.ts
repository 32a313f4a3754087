import { randomInt } from 'node:crypto';

/** A random non-zero salt below 2^47 (fits a safe integer and the protocol's uint fields). */
export function randomSalt(): number {
  return randomInt(1, 2 ** 47);
}

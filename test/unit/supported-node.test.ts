import { Prng, testSeed } from '../helpers/prng';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isSupported } = require('../../bin/supported-node.js') as { isSupported(version: string): boolean };

test('supported Node lines: 22.22+, 24 and 26 and later; never 20 or older', () => {
  const rng = new Prng(testSeed('supported-node'));
  for (let i = 0; i < 2000; i++) {
    const major = rng.int(14, 40);
    const minor = rng.int(0, 40);
    const patch = rng.int(0, 20);
    const version = `${rng.bool() ? 'v' : ''}${major}.${minor}.${patch}`;
    const expected = major === 22 ? minor >= 22 : major === 24 || major >= 26;
    expect([version, isSupported(version)]).toEqual([version, expected]);
  }
  expect(isSupported(process.versions.node)).toBe(true);
});

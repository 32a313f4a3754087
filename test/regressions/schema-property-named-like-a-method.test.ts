import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Realm } from '../../src/realm';

// The ROS documentation's Coupon has a property named `isValid`. A schema property must win over
// the RealmObject method of the same name (as in realm-js); the method used to win, so reads gave
// a function and writes were lost.

test('a schema property named isValid reads and writes the property, not the method', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-shadow-'));
  const realm = new Realm({ schema: [{ name: 'Coupon', properties: { code: 'string', isValid: 'bool?' } }], path: path.join(dir, 'r.db') } as any);
  try {
    const c = realm.write(() => realm.create<any>('Coupon', { code: 'X', isValid: null }));
    expect(c.isValid).toBeNull();
    realm.write(() => (c.isValid = true));
    expect(c.isValid).toBe(true);
    expect(JSON.parse(JSON.stringify(c))).toEqual({ code: 'X', isValid: true });
  } finally {
    realm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

import { Replica } from '../../src/store';
import type { Instruction } from '../../src/changeset';

// A download that links to an object a pending local changeset deleted must land as a null link /
// tombstone on the client, exactly as on the server. The client once transformed downloads without
// the schema, so the merge could not tell the link from a string and apply() failed.

const schema: Instruction[] = [
  { op: 'AddType', type: 'Person', primaryKey: 'name', properties: [{ name: 'name', type: 'string', optional: false }] },
  {
    op: 'AddType',
    type: 'Team',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'int', optional: false },
      { name: 'lead', type: 'object', objectType: 'Person', optional: true },
      { name: 'members', type: 'list', objectType: 'Person', optional: false },
    ],
  },
];

test('a downloaded link to an object deleted by a pending local change becomes null and a tombstone', () => {
  const r = Replica.open({ path: ':memory:' });
  r.setIdent(5, 1);
  r.write((w) => w.apply(schema));
  r.write((w) => w.apply([{ op: 'Create', type: 'Person', id: 'ann', values: {} }, { op: 'Create', type: 'Team', id: 1, values: {} }]));
  r.integrate({ serverVersion: 2, lastIntegratedClientVersion: 2, latestServerVersion: 2, latestServerVersionSalt: 7, uploadClientVersion: 2, uploadServerVersion: 0, changesets: [] });
  r.write((w) => w.apply([{ op: 'Delete', type: 'Person', id: 'ann' }]));

  r.integrate({
    serverVersion: 3,
    lastIntegratedClientVersion: 2,
    latestServerVersion: 3,
    latestServerVersionSalt: 7,
    uploadClientVersion: 2,
    uploadServerVersion: 0,
    changesets: [
      {
        serverVersion: 3,
        lastIntegratedClientVersion: 2,
        originTimestamp: Number.MAX_SAFE_INTEGER - 1,
        originFileIdent: 9,
        instructions: [
          { op: 'Set', type: 'Team', id: 1, values: { lead: 'ann' } },
          { op: 'ListInsert', type: 'Team', id: 1, property: 'members', index: 0, value: 'ann', prior: 0 },
        ],
      },
    ],
  });
  const team = r.getObject('Team', 1)!;
  expect(team.values.lead).toBeNull();
  expect(team.lists.members).toEqual([{ value: 'ann', dead: true }]);
  expect(r.getObject('Person', 'ann')).toBeUndefined();
  r.close();
});

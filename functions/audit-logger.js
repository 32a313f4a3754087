'use strict';
/**
 * Audit logger: writes one line per change event to its log (`tributary functions logs
 * audit-logger`), with the number of inserted, deleted and modified objects per type, and a line
 * when a realm appears or is deleted. It watches every realm except the system ones (`/__…`).
 */

function counts(changes) {
  return Object.keys(changes)
    .sort()
    .map((type) => {
      const c = changes[type];
      return `${type} +${c.insertions.length} -${c.deletions.length} ~${c.modifications.length}`;
    })
    .join(', ');
}

module.exports = {
  name: 'audit-logger',
  pathRegex: /^\/(?!__)/,
  onchange(changeEvent) {
    console.log(`${changeEvent.path} changed: ${counts(changeEvent.changes)}${changeEvent.oldRealm.schema.length === 0 ? ' (first sync of this realm)' : ''}`);
  },
  onavailable(path) {
    console.log(`${path} available`);
  },
  ondelete(path) {
    console.log(`${path} deleted`);
  },
};

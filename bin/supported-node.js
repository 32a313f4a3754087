'use strict';
// Refuses to run on a Node.js line Tributary does not support, before anything native loads (the
// storage driver, better-sqlite3 13, crashes on Node 20 instead of failing cleanly). Written in
// plain old JavaScript so that any Node can parse it and print the message.
var SUPPORTED = 'Node.js 22 (22.22 or later), 24 or 26';

function isSupported(version) {
  var parts = String(version).replace(/^v/, '').split('.');
  var major = Number(parts[0]);
  var minor = Number(parts[1]);
  if (major === 22) return minor >= 22;
  if (major === 24) return true;
  return major >= 26;
}

function requireSupportedNode(what) {
  if (isSupported(process.versions.node)) return;
  process.stderr.write(
    (what ? what + ': ' : '') + 'Tributary needs ' + SUPPORTED + '; this is Node.js ' + process.versions.node +
      ' (' + process.execPath + ').\n' +
      'Install a supported Node.js (https://nodejs.org, or nvm install 24) and put it first on PATH.\n'
  );
  process.exit(1);
}

module.exports = { isSupported: isSupported, requireSupportedNode: requireSupportedNode, SUPPORTED: SUPPORTED };

if (require.main === module) requireSupportedNode(process.argv[2]);

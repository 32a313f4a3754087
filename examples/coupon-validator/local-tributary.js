'use strict';
// Preload for running the example from this repository (node -r ./local-tributary.js index.js):
// makes require('tributary') load the checked-out package's TypeScript sources through tsx. A
// project that installed tributary from npm does not need it.
const Module = require('module');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
require(require.resolve('tsx/cjs', { paths: [root] }));
const entry = path.join(root, 'src', 'index.ts');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'tributary' ? entry : resolve.call(this, request, ...rest);
};

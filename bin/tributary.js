#!/usr/bin/env node
'use strict';
require('./supported-node').requireSupportedNode('tributary');
// Run the compiled CLI when the package is built, otherwise the TypeScript source through tsx.
const path = require('path');
const fs = require('fs');
const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
}

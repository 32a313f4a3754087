#!/usr/bin/env node
'use strict';
require('./supported-node').requireSupportedNode('tributary');
// In a checkout of the repository (src/ is there) run the TypeScript sources through tsx, so that
// what runs is what was edited; in an installed package run the compiled CLI.
const path = require('path');
const fs = require('fs');
const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
if (fs.existsSync(source)) {
  require('tsx/cjs');
  require(source);
} else {
  require(path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js'));
}

'use strict';
/**
 * Preloaded (`--require`) into every server child of the peers benchmark: on the IPC message
 * `'gc'` it runs a full collection (the child runs with --expose-gc) and answers `'gc-done'`, so
 * the parent reads VmRSS after garbage is gone. The channel is unref'd so it never keeps a
 * server alive on its own. Plain JavaScript, so that a compiled server needs no TypeScript loader.
 */
process.on('message', (message) => {
  if (message !== 'gc') return;
  const gc = globalThis.gc;
  if (gc) {
    gc();
    gc();
  }
  if (process.send) process.send('gc-done');
});
if (process.channel) process.channel.unref();

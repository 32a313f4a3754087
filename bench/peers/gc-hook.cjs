'use strict';
/**
 * Preloaded (`--require`) into every server child of the peers benchmark: on the IPC message
 * `'gc'` it runs a full collection (the child runs with --expose-gc) and answers `'gc-done'` with
 * the JavaScript heap still in use and V8's external memory (ArrayBuffers, native wrappers), so the
 * parent reads what is retained, and VmRSS, after garbage is gone. The channel is unref'd so it never keeps a
 * server alive on its own. Plain JavaScript, so that a compiled server needs no TypeScript loader.
 */
process.on('message', (message) => {
  if (message !== 'gc') return;
  const gc = globalThis.gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  if (process.send) process.send({ type: 'gc-done', heapUsed: m.heapUsed, external: m.external });
});
if (process.channel) process.channel.unref();

/**
 * Preloaded (`--import`) into every server child of the peers benchmark: on the IPC message
 * `'gc'` it runs a full collection (the child runs with --expose-gc) and answers `'gc-done'`, so
 * the parent reads VmRSS after garbage is gone. The channel is unref'd so it never keeps a
 * server alive on its own.
 */
process.on('message', (message) => {
  if (message !== 'gc') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send?.('gc-done');
});
(process as unknown as { channel?: { unref(): void } }).channel?.unref();

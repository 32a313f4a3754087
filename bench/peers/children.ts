import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the peers benchmark starts, so none outlives it: they are killed when
 * this process exits, however it exits, and on SIGINT/SIGTERM; then the `atExit` clean-ups run.
 */
const live = new Set<ChildProcess>();
const cleanups = new Set<() => void>();
let installed = false;

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  install();
  return child;
}

/** Runs `fn` (synchronously) when this process exits; the returned function cancels it. */
export function atExit(fn: () => void): () => void {
  cleanups.add(fn);
  install();
  return () => cleanups.delete(fn);
}

function install(): void {
  if (!installed) {
    installed = true;
    process.once('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        killAll();
        process.exit(130);
      });
    }
  }
}

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort at exit
    }
  }
}

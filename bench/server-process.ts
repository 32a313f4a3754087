import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

const REPO = path.resolve(__dirname, '..');

/** A `tributary serve` child process for benchmarks (a trimmed copy of test/helpers/server-process.ts). */
export interface BenchServer {
  url: string;
  port: number;
  pid: number;
  /** CPU time (user + system) the child has used so far, in ms; NaN where /proc is missing. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startBenchServer(dataPath: string, args: string[] = []): Promise<BenchServer> {
  // BENCH_SERVER_NODE_ARGS: extra node flags for the child, e.g. "--cpu-prof --cpu-prof-dir=prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const argv = [...nodeArgs, '--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'serve', '--port', '0', '--address', '127.0.0.1', '--data', dataPath, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
  const child = spawn(process.execPath, argv, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start\n${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'listening' && typeof rec.port === 'number') {
          clearTimeout(timer);
          resolve(rec.port);
        }
      } catch {
        // not a log record
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\n${stderr}`));
    });
  });
  const ticks = 100; // USER_HZ on Linux
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    cpuMs() {
      try {
        const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
      } catch {
        return NaN;
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

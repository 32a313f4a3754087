/**
 * The layering rule of ARCHITECTURE §2, machine-checked (run by `npm run check:layers`, by
 * `.ci/run` and by test/unit/layering.test.ts):
 *
 * - an import points only down the dependency order (`allowed` below lists what each layer may
 *   import; `shared` and `src/errors.ts` are the leaf every layer may use);
 * - the pure layers (model, changeset, merge, protocol, query) import no package and no Node
 *   module, so they run in a browser;
 * - no import cycles between files, type-only imports included.
 *
 * Imports are read from the text (static `import`/`export … from`, `require('…')`, `import('…')`);
 * only relative specifiers name files of the project.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const PURE = ['model', 'changeset', 'merge', 'protocol', 'query'];

/** What each layer may import besides itself (`shared` is always allowed). */
const BELOW: Record<string, string[]> = {
  shared: [],
  model: [],
  changeset: ['model'],
  merge: ['model', 'changeset'],
  protocol: ['model', 'changeset'],
  query: ['model', 'changeset'],
  store: ['model', 'changeset', 'merge', 'protocol', 'query'],
  realm: ['model', 'changeset', 'merge', 'protocol', 'query', 'store'],
  client: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm'],
  'admin-client': ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client'],
  notifier: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client'],
  adapter: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client'],
  functions: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter'],
  patterns: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter'],
  // The connector kit (connectors/kit, connectors/*.ts) and each connector: the client runtime and
  // the kit, never the server, the CLI or another connector.
  connectors: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter', 'patterns'],
  connector: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter', 'patterns', 'connectors'],
  // connectors/registry.ts names every connector (each loaded on first use).
  registry: ['connectors', 'connector'],
  // The server shares only the pure core with the client side.
  server: ['model', 'changeset', 'merge', 'protocol'],
  entry: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter', 'functions', 'patterns', 'server', 'connectors'],
  cli: ['model', 'changeset', 'merge', 'protocol', 'query', 'store', 'realm', 'client', 'admin-client', 'notifier', 'adapter', 'functions', 'patterns', 'server', 'connectors', 'registry', 'entry'],
};

export interface Violation {
  kind: 'upward' | 'impure' | 'cycle' | 'unknown-layer' | 'unresolved';
  file: string;
  detail: string;
}

/** The layer of a repo-relative file, e.g. `src/store/replica.ts` → `store`. */
export function layerOf(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] === 'connectors') {
    if (file === 'connectors/registry.ts') return 'registry';
    if (parts.length === 2 || parts[1] === 'kit') return 'connectors';
    return 'connector';
  }
  if (parts[0] !== 'src') return null;
  if (parts.length === 2) return parts[1] === 'errors.ts' ? 'shared' : parts[1] === 'index.ts' ? 'entry' : null;
  return parts[1]!;
}

/** The unit of the "no other connector" rule: `connectors/postgres` for its files. */
function connectorOf(file: string): string | null {
  const parts = file.split('/');
  return parts[0] === 'connectors' && parts.length > 2 && parts[1] !== 'kit' ? parts[1]! : null;
}

const IMPORT = /(?:^|[^.\w$])(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?['"]([^'"]+)['"]|(?:^|[^.\w$])(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every module specifier a source text imports (comments removed first). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) out.push((m[1] ?? m[2])!);
  return out;
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(path.join(root, dir))) return;
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('src');
  walk('connectors');
  return out.sort();
}

function resolveImport(files: Set<string>, from: string, spec: string): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, base]) if (files.has(candidate)) return candidate;
  return null;
}

/** Checks the tree under `root` (a repository with `src/` and `connectors/`). */
export function checkLayers(root: string): Violation[] {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  const violations: Violation[] = [];
  for (const file of files) {
    const layer = layerOf(file);
    if (layer === null || !(layer in BELOW)) {
      violations.push({ kind: 'unknown-layer', file, detail: `no layer rule for ${file}` });
      continue;
    }
    const edges: string[] = [];
    for (const spec of importsOf(fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) {
        if (PURE.includes(layer)) violations.push({ kind: 'impure', file, detail: `pure layer '${layer}' imports '${spec}'` });
        continue;
      }
      const target = resolveImport(known, file, spec);
      if (!target) {
        violations.push({ kind: 'unresolved', file, detail: `'${spec}' is not a source file of src/ or connectors/` });
        continue;
      }
      edges.push(target);
      const to = layerOf(target);
      if (to === null || to === layer || to === 'shared') {
        if (to === 'connector' && connectorOf(file) !== connectorOf(target)) violations.push({ kind: 'upward', file, detail: `connector '${connectorOf(file)}' imports connector '${connectorOf(target)}' (${target})` });
        continue;
      }
      if (!BELOW[layer]!.includes(to)) violations.push({ kind: 'upward', file, detail: `${layer} → ${to} (${target})` });
    }
    graph.set(file, edges);
  }
  for (const cycle of cycles(graph)) violations.push({ kind: 'cycle', file: cycle[0]!, detail: `import cycle: ${cycle.join(' → ')} → ${cycle[0]}` });
  return violations;
}

/** Strongly connected components of more than one file (Tarjan), each as a path through it. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.reverse());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const violations = checkLayers(root);
  for (const v of violations) console.log(`${v.kind}: ${v.file}: ${v.detail}`);
  console.log(violations.length ? `check-layers: ${violations.length} violation(s)` : `check-layers: ${sourceFiles(root).length} files, layering and cycles OK`);
  process.exitCode = violations.length ? 1 : 0;
}

import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { types } from 'node:util';
import { transformSync } from 'esbuild';

/** File name endings the runtime loads; anything else in the folder is ignored. */
export const FUNCTION_EXTENSIONS = ['.js', '.cjs', '.ts', '.cts'] as const;

/** Every realm except the system ones (`/__admin`, `/__wildcardpermissions`, …). */
export const DEFAULT_PATH_REGEX = /^\/(?!__)/;

/** A valid function name, used as its log file name: letters, digits, `.`, `_`, `-`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type Handler = (arg: any) => unknown;
export type FunctionEvent = 'change' | 'available' | 'delete';
export const HANDLER_EVENTS: ReadonlyArray<readonly [key: 'onchange' | 'onavailable' | 'ondelete', event: FunctionEvent]> = [
  ['onchange', 'change'],
  ['onavailable', 'available'],
  ['ondelete', 'delete'],
];

/** A function file after loading and validation. */
export interface FunctionDefinition {
  name: string;
  file: string;
  pathRegex: RegExp;
  handlers: Partial<Record<FunctionEvent, Handler>>;
  /** Per-function override of the runtime's timeout. */
  timeoutMs?: number;
  /** `this` of handler calls: the exported object (or the bare function). */
  receiver: unknown;
}

export function isFunctionFile(file: string): boolean {
  const base = path.basename(file);
  if (base.startsWith('.') || base.startsWith('_') || base.endsWith('.d.ts') || /\.(test|spec)\.[cm]?[jt]s$/.test(base)) return false;
  return (FUNCTION_EXTENSIONS as readonly string[]).includes(path.extname(base));
}

/** The name a file gets when it exports none: its base name without the extension. */
export function defaultFunctionName(file: string): string {
  return path.basename(file, path.extname(file));
}

/**
 * Where in a file loading failed. `line` and `column` count from 1 (as editors show them);
 * `lineText` is that line of the file, cut to {@link MAX_LINE_TEXT} characters.
 */
export interface SourceLocation {
  /** The file, relative to the functions folder when it is inside it. */
  file: string;
  line: number;
  column?: number;
  lineText?: string;
}

/** Longer source lines (minified code) are cut in error reports. */
const MAX_LINE_TEXT = 200;

export class FunctionLoadError extends Error {
  override name = 'FunctionLoadError';
  constructor(
    message: string,
    /** Set for syntax errors (JavaScript and TypeScript): the message then starts with `file:line:column: `. */
    readonly location?: SourceLocation,
  ) {
    super(message);
  }
}

/**
 * Loads one function file in isolation and validates its exports.
 *
 * - `.ts`/`.cts` files are transpiled with esbuild (`transformSync`, CommonJS, no type check).
 * - The code runs in this process's realm (so `instanceof` and the `tributary` objects passed in
 *   behave normally) inside a CommonJS wrapper with its own `module`, `exports`, `require` and
 *   `console`. The file itself never enters Node's require cache, and modules it requires from
 *   the functions folder are evicted first, so each load sees the current text of every file.
 * - `require(id)` for an id in `options.modules` returns what that entry gives (the CLI provides
 *   `tributary` this way, so a folder outside any project gets the running package).
 *
 * Accepted shapes: an object `{ name?, pathRegex | regex, onchange?, onavailable?, ondelete?,
 * timeoutMs? }` (also as an ES `export default` or named exports), or a bare function (ROS 1.x
 * Realm Functions), which becomes `onchange`, with `pathRegex`/`regex` read from the function's
 * own properties and {@link DEFAULT_PATH_REGEX} otherwise.
 */
export function loadFunctionFile(file: string, options: { console: Console; functionsDir?: string; modules?: Record<string, () => unknown> }): FunctionDefinition {
  const absolute = path.resolve(file);
  const context: LoadContext = {
    root: path.resolve(options.functionsDir ?? path.dirname(absolute)) + path.sep,
    console: options.console,
    modules: new Map(),
    provided: options.modules ?? {},
  };
  let exported: unknown;
  try {
    exported = evaluate(absolute, context).exports;
  } catch (e) {
    if (e instanceof FunctionLoadError) throw e;
    throw new FunctionLoadError(`evaluating the file threw: ${errorText(e)}`);
  }
  return normalise(absolute, exported);
}

/** One load: the modules of the functions folder evaluated so far (a private require cache). */
interface LoadContext {
  root: string;
  console: Console;
  modules: Map<string, Module>;
  provided: Record<string, () => unknown>;
}

/**
 * Evaluates a file of the functions folder as a CommonJS module. Its `require` resolves as Node
 * would from the file, except for the ids the caller provides, and files of the folder (outside
 * node_modules) are evaluated again through this same function instead of coming from Node's
 * cache — so a reload sees edited helpers too.
 */
function evaluate(file: string, context: LoadContext): Module {
  const cached = context.modules.get(file);
  if (cached) return cached;
  const mod = new Module(file, undefined);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  context.modules.set(file, mod);
  if (file.endsWith('.json')) {
    mod.exports = JSON.parse(fs.readFileSync(file, 'utf8'));
    mod.loaded = true;
    return mod;
  }
  const nodeRequire = Module.createRequire(file);
  const localRequire = Object.assign(
    (id: string): unknown => {
      if (Object.prototype.hasOwnProperty.call(context.provided, id)) return context.provided[id]!();
      const resolved = nodeRequire.resolve(id);
      if (path.isAbsolute(resolved) && resolved.startsWith(context.root) && !resolved.slice(context.root.length).split(path.sep).includes('node_modules')) {
        return evaluate(resolved, context).exports;
      }
      return nodeRequire(resolved);
    },
    { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: undefined },
  ) as NodeJS.Require;
  mod.require = localRequire;

  const shown = displayName(file, context.root);
  const code = transpile(file, shown, fs.readFileSync(file, 'utf8'));
  let wrapper: Function;
  try {
    wrapper = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname', 'console'], { filename: file });
  } catch (e) {
    throw syntaxError(e, shown);
  }
  wrapper.call(mod.exports, mod.exports, localRequire, mod, file, path.dirname(file), context.console);
  mod.loaded = true;
  return mod;
}

/** A file as error messages name it: relative to the functions folder when inside it. */
function displayName(file: string, root: string): string {
  return file.startsWith(root) ? file.slice(root.length) : file;
}

/**
 * A compile error of V8 as a {@link FunctionLoadError} whose first line carries the position and
 * the message (`broken.js:4:3: SyntaxError: Unexpected token '}'`), followed by the source line
 * and a caret. V8 keeps the column only in the text Node puts above the message in `stack`
 * (`<file>:<line>`, the source line, a line of `^` under the offending token); without that text
 * the error is reported as it is.
 */
function syntaxError(e: unknown, shown: string): FunctionLoadError {
  if (!isError(e)) return new FunctionLoadError(String(e));
  const headline = `${e.name}: ${e.message}`;
  const [where, lineText, carets, blank] = (e.stack ?? '').split('\n');
  const line = /:(\d+)$/.exec(where ?? '');
  if (!line || where!.startsWith(headline)) return new FunctionLoadError(headline);
  // The caret line is blank up to the token and `^` under it; an error at the end of the input
  // (nothing to underline) leaves only the blank part.
  const underline = carets !== undefined && blank === '' ? /^([ \t]*)\^*$/.exec(carets) : null;
  const column = underline ? underline[1]!.length + 1 : undefined;
  return located(headline, { file: shown, line: Number(line[1]), ...(column !== undefined ? { column } : {}), ...(lineText !== undefined ? { lineText } : {}) });
}

/** `file:line:column: headline`, then the source line and a caret under the column. */
function located(headline: string, location: SourceLocation): FunctionLoadError {
  const lineText = location.lineText === undefined ? undefined : location.lineText.slice(0, MAX_LINE_TEXT);
  const at = `${location.file}:${location.line}${location.column !== undefined ? `:${location.column}` : ''}`;
  let text = `${at}: ${headline}`;
  if (lineText !== undefined) {
    text += `\n${lineText}`;
    if (location.column !== undefined && location.column <= lineText.length + 1) text += `\n${lineText.slice(0, location.column - 1).replace(/[^\t]/g, ' ')}^`;
  }
  return new FunctionLoadError(text, { ...location, ...(lineText !== undefined ? { lineText } : {}) });
}

interface EsbuildMessage {
  text: string;
  location?: { line: number; column: number; lineText?: string } | null;
}

function transpile(file: string, shown: string, source: string): string {
  const ext = path.extname(file);
  if (ext !== '.ts' && ext !== '.cts') return source.startsWith('#!') ? '//' + source : source;
  try {
    return transformSync(source, { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: file, sourcemap: 'inline' }).code;
  } catch (e) {
    const errors = (e as { errors?: EsbuildMessage[] }).errors ?? [];
    const first = errors[0];
    if (!first) throw new FunctionLoadError(`TypeScript: ${errorText(e)}`);
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
    const headline = `TypeScript: ${first.text}${more}`;
    const where = first.location;
    if (!where) throw new FunctionLoadError(headline);
    // esbuild counts columns from 0, in bytes of UTF-8; editors count characters from 1.
    const column = where.lineText === undefined ? where.column + 1 : Buffer.from(where.lineText).subarray(0, where.column).toString().length + 1;
    throw located(headline, { file: shown, line: where.line, column, ...(where.lineText !== undefined ? { lineText: where.lineText } : {}) });
  }
}

function normalise(file: string, exported: unknown): FunctionDefinition {
  let value = exported as any;
  // `export default {…}` / `export default function` from TypeScript or esbuild output.
  if (value && typeof value === 'object' && value.__esModule && value.default !== undefined) {
    const { default: def, ...named } = value;
    value = typeof def === 'function' ? Object.assign(def, named) : { ...named, ...def };
  }
  let spec: Record<string, unknown>;
  if (typeof value === 'function') {
    spec = { name: value.functionName, pathRegex: value.pathRegex ?? value.regex, onchange: value, timeoutMs: value.timeoutMs };
  } else if (value && typeof value === 'object') {
    spec = value;
  } else {
    throw new FunctionLoadError('the file exports nothing usable: export a function (the change handler) or an object with pathRegex and onchange/onavailable/ondelete');
  }

  const name = spec.name === undefined ? defaultFunctionName(file) : spec.name;
  if (typeof name !== 'string' || !NAME.test(name)) throw new FunctionLoadError(`name must be letters, digits, '.', '_' or '-' (it names the log file), got ${JSON.stringify(name)}`);

  const rawRegex = spec.pathRegex ?? spec.regex;
  let pathRegex: RegExp;
  if (rawRegex === undefined) pathRegex = DEFAULT_PATH_REGEX;
  // Rebuilt, so a RegExp made in another realm (vm context) is an ordinary one here, and the
  // function cannot change it (lastIndex, source) after registration.
  else if (types.isRegExp(rawRegex)) pathRegex = new RegExp((rawRegex as RegExp).source, (rawRegex as RegExp).flags.replace(/[gy]/g, ''));
  else if (typeof rawRegex === 'string') {
    try {
      pathRegex = new RegExp(rawRegex);
    } catch (e) {
      throw new FunctionLoadError(`pathRegex is not a valid regular expression: ${errorText(e)}`);
    }
  } else throw new FunctionLoadError(`pathRegex must be a RegExp or a string, got ${typeof rawRegex}`);

  const handlers: Partial<Record<FunctionEvent, Handler>> = {};
  for (const [key, event] of HANDLER_EVENTS) {
    const h = spec[key];
    if (h === undefined) continue;
    if (typeof h !== 'function') throw new FunctionLoadError(`${key} must be a function, got ${typeof h}`);
    handlers[event] = h as Handler;
  }
  if (Object.keys(handlers).length === 0) throw new FunctionLoadError('no handler: export onchange, onavailable or ondelete (or a bare function, used as onchange)');

  const timeoutMs = spec.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))) {
    throw new FunctionLoadError(`timeoutMs must be a positive number of milliseconds, got ${JSON.stringify(timeoutMs)}`);
  }
  return { name, file, pathRegex, handlers, receiver: value, ...(timeoutMs !== undefined ? { timeoutMs: timeoutMs as number } : {}) };
}

/** Errors thrown by function code may come from another realm (vm context), so no instanceof. */
export function isError(e: unknown): e is Error {
  return types.isNativeError(e) || (typeof e === 'object' && e !== null && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string');
}

export function errorText(e: unknown): string {
  if (isError(e)) return e.stack && e.stack.includes(e.message) ? e.stack : `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * User scenarios: a JSON or YAML file validated with zod (an error names the
 * field, with file:line:col for YAML/JSON), or a TypeScript/JavaScript module
 * exporting a scenario or just a handler, loaded at run time.
 * The format is documented in src/seam/SCENARIOS.md.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMap, isPair, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { formatError, SeamlabError } from '../errors.js';
import { builtinScenario } from './builtin-scenarios.js';
import type { HandlerSpec, InputValue, LogicalCall, Scenario, ScenarioCase, Sequence, SequenceStep } from './scenario.js';
import { parseNumber, scenarioSchema, toOutcome, type HandlerInput, type ScenarioParsed } from './scenario-schema.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type GprName, type OutcomeKind, type OutputReg, type SeamHandler, type SeamKind } from './types.js';
import { freshCopies } from './handler-copy.js';
import { thrownMessage } from './user-code.js';
import { startLoadWatchdog } from './load-watchdog.js';
import { packageRoot } from '../support/package-root.js';
import { readUserFile } from '../support/user-files.js';

export { parseNumber, scenarioSchema, type ScenarioInput } from './scenario-schema.js';

export interface ZodIssueLike { code: string; path: PropertyKey[]; message: string; errors?: ZodIssueLike[][] }

/**
 * Zod reports a failed union as "Invalid input" with every branch's issues.
 * Pick the branch the author evidently meant — the one whose issues are not
 * about its own shape (wrong type, wrong literal, unknown keys) — and report
 * its issues with full paths.
 */
export function flattenIssues(issues: ZodIssueLike[], base: PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const i of issues) {
    const path = [...base, ...i.path];
    if (i.code === 'invalid_union' && i.errors?.length) {
      const shape = (b: ZodIssueLike[]) => b.filter((x) => ['invalid_type', 'invalid_value', 'unrecognized_keys'].includes(x.code) && x.path.length <= 1).length;
      const depth = (b: ZodIssueLike[]) => Math.max(...b.map((x) => x.path.length));
      const best = [...i.errors].sort((a, b) => shape(a) - shape(b) || depth(b) - depth(a))[0]!;
      out.push(...flattenIssues(best, path));
    } else {
      out.push({ path, message: i.message });
    }
  }
  return out;
}

type LoadModule = (path: string, exportName: string | undefined) => Promise<() => SeamHandler>;

async function toHandlerSpec(h: HandlerInput, baseDir: string, load: LoadModule): Promise<HandlerSpec> {
  if ('model' in h) {
    if (h.model === 'tdx-module') {
      const m = h.module;
      const fields = m?.fields ? new Map(Object.entries(m.fields as Record<string, bigint>).map(([k, v]) => [parseNumber(k) as bigint, v])) : undefined;
      return { model: 'tdx-module', ...(m ? { module: { ...(m as object), ...(fields ? { fields } : {}) } } : {}), ...(h.seamldr ? { seamldr: h.seamldr } : {}) };
    }
    return { model: 'td-guest', ...(h.guest ? { guest: h.guest } : {}) };
  }
  if ('script' in h) return { script: h.script.map(toOutcome), ...(h.then ? { then: await toHandlerSpec(h.then, baseDir, load) } : {}) };
  if ('module' in h) {
    const path = resolve(baseDir, h.module);
    return { custom: basename(path), create: await load(path, h.export) };
  }
  const given = h.handler;
  if (typeof given === 'function') return { custom: 'handler', create: asHandlerFactory(given, 'handler') };
  // An inline object: every run gets a fresh copy, so its state does not carry over from one run to the next.
  return { custom: (given as SeamHandler).name ?? 'handler', create: freshCopies(given as SeamHandler) };
}

/** Validates and converts a parsed scenario object. `where` maps a zod path to a position for messages. */
export async function scenarioFromObject(
  data: unknown, source: string, where: (path: PropertyKey[]) => string = () => source, load: LoadModule = loadHandlerModule,
): Promise<Scenario> {
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues, []);
    const first = issues[0]!;
    const field = (p: PropertyKey[]) => (p.length ? p.join('.') : '(top level)');
    throw new SeamlabError('SCENARIO_INVALID', `${where(first.path)}: ${field(first.path)}: ${first.message}`,
      'fix the field; the scenario format is described in src/seam/SCENARIOS.md',
      { notes: issues.slice(1, 6).map((i) => `${where(i.path)}: ${field(i.path)}: ${i.message}`) });
  }
  const s = parsed.data;
  checkAnswers(s, where);
  const baseDir = dirname(resolve(source));
  const cases: Partial<Record<SeamKind, ScenarioCase>> = {};
  for (const kind of ['seamcall', 'tdcall'] as const) {
    const c = s[kind];
    if (!c) continue;
    cases[kind] = {
      call: logicalCall(c.call),
      env: { ...defaultEnv(kind), ...c.env } as CpuEnv,
      handler: c.handler ? await toHandlerSpec(c.handler, baseDir, load) : defaultHandler(kind),
    };
  }
  let sequence: Sequence | undefined;
  if (s.sequence) {
    const q = s.sequence;
    const kind: SeamKind = q.kind ?? 'seamcall';
    const base = { ...defaultEnv(kind), ...q.env } as CpuEnv;
    sequence = {
      kind,
      handler: q.handler ? await toHandlerSpec(q.handler, baseDir, load) : defaultHandler(kind),
      memory: (q.memory ?? []).map((m) => ({ phys: m.phys, u64: m.u64 })),
      steps: q.steps.map((st): SequenceStep => ({
        call: logicalCall(st.call),
        env: { ...base, ...st.env } as CpuEnv,
        ...(st.label ? { label: st.label } : {}),
        ...(st.expect ? {
          expect: {
            ...(st.expect.status !== undefined ? { status: st.expect.status } : {}),
            ...(st.expect.outputs ? { outputs: st.expect.outputs } : {}),
            ...(st.expect.outcome ? { outcome: st.expect.outcome as OutcomeKind } : {}),
          },
        } : {}),
        ...(st.repeat ? { repeat: { while: st.repeat.while as OutputReg, below: st.repeat.below, max: st.repeat.max } } : {}),
      })),
    };
  }
  return {
    name: s.name, summary: s.summary ?? `user scenario from ${basename(source)}`, source, cases,
    ...(s.requiresOutputPointer ? { requiresOutputPointer: true } : {}),
    ...(sequence ? { sequence } : {}),
  };
}

const defaultEnv = (kind: SeamKind) => (kind === 'seamcall' ? HOST_ENV : GUEST_ENV);
const defaultHandler = (kind: SeamKind): HandlerSpec => ({ model: kind === 'seamcall' ? 'tdx-module' : 'td-guest' });

function logicalCall(c: { leaf: bigint; inputs?: Record<string, unknown>; nullOutput?: boolean }): LogicalCall {
  const inputs: Partial<Record<GprName, InputValue>> = {};
  for (const [r, v] of Object.entries(c.inputs ?? {})) inputs[r as GprName] = v as InputValue;
  return { leaf: c.leaf, inputs, ...(c.nullOutput ? { nullOutput: true } : {}) };
}

/**
 * Answers the instruction cannot give are refused where they are written:
 * TDCALL has no VMfailInvalid/VMfailValid outcome (SDM TDCALL: #UD, #GP(0)
 * or a VM exit), and a SEAMCALL always resumes after the instruction
 * (tdx_vmm_dispatcher.c tdx_vmm_post_dispatching → advance_guest_rip), so it
 * cannot be "interrupted: re-execute" — the module answers
 * TDX_INTERRUPTED_RESUMABLE instead.
 */
function checkAnswers(s: ScenarioParsed, where: (path: PropertyKey[]) => string): void {
  const visit = (h: HandlerInput | undefined, kind: SeamKind, path: PropertyKey[]) => {
    if (!h || !('script' in h)) return;
    h.script.forEach((st, i) => {
      const k = typeof st === 'string' ? st : Object.keys(st)[0];
      const at = [...path, 'script', i];
      if (kind === 'tdcall' && (k === 'vmfailinvalid' || k === 'vmfailvalid')) {
        throw new SeamlabError('SCENARIO_INVALID', `${where(at)}: ${at.join('.')}: TDCALL has no ${k === 'vmfailinvalid' ? 'VMfailInvalid' : 'VMfailValid'} outcome (Intel SDM TDCALL: #UD, #GP(0) or a VM exit)`,
          'answer a TDCALL with return, fault (UD/GP) or interrupted');
      }
      if (kind === 'seamcall' && k === 'interrupted') {
        throw new SeamlabError('SCENARIO_INVALID', `${where(at)}: ${at.join('.')}: a SEAMCALL always resumes after the instruction (SEAMRET); "interrupted: re-execute" is a TDCALL outcome`,
          'answer { return: { rax: TDX_INTERRUPTED_RESUMABLE } } for an interrupted host call');
      }
    });
    visit(h.then, kind, [...path, 'then']);
  };
  visit(s.seamcall?.handler, 'seamcall', ['seamcall', 'handler']);
  visit(s.tdcall?.handler, 'tdcall', ['tdcall', 'handler']);
  if (s.sequence) visit(s.sequence.handler, s.sequence.kind ?? 'seamcall', ['sequence', 'handler']);
}

export function positionFinder(doc: Document, lc: LineCounter, file: string): (path: PropertyKey[]) => string {
  return (path) => {
    // The deepest node that exists on the path (a missing field points at its parent).
    for (let n = path.length; n >= 0; n--) {
      const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true)) as { range?: [number, number, number] } | null | undefined;
      if (node && typeof node === 'object' && node.range) {
        const p = lc.linePos(node.range[0]);
        return `${file}:${p.line}:${p.col}`;
      }
    }
    return file;
  };
}

const MAX_SCENARIO_BYTES = 1 << 20;

/** YAML integers are read as bigints (so 64-bit values survive); small ones become plain numbers again. */
export function smallIntsAsNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(smallIntsAsNumbers);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, smallIntsAsNumbers(x)]));
  return v;
}

/** How a scenario file may be loaded. */
export interface ScenarioLoadOptions {
  /**
   * A YAML/JSON scenario may name a handler module (`handler: {module: …}`),
   * which runs as code with the user's privileges: only with this set
   * (`--allow-code`). A file from a mailing list is then safe to run by
   * default. A .ts/.mjs/.js scenario named directly is code by its very
   * name and needs no flag.
   */
  allowCode?: boolean;
  /**
   * How long a module's top-level code may run when it is loaded (the
   * run's --time-limit). Set by the CLI only: past it, load-watchdog.ts
   * ends the process with a user error (a library must not be ended so).
   */
  timeLimitMs?: number;
}

const SCENARIO_FILE_HINT = 'give a .yaml/.json/.ts/.mjs scenario file (src/seam/SCENARIOS.md), or a name from `seamlab scenarios`';

/** Loads a scenario from a .json/.yaml/.yml file or a .ts/.mts/.js/.mjs module. */
export async function loadScenarioFile(file: string, opts: ScenarioLoadOptions = {}): Promise<Scenario> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new SeamlabError('SCENARIO_NOT_FOUND', `no scenario named ${file} and no such file`, 'use a name from `seamlab scenarios` or a path to a .yaml/.json/.ts scenario');
  }
  const ext = extname(path).toLowerCase();
  // Regular files of a bounded size only: a FIFO or /dev/zero would hang the read (or esbuild's).
  const bytes = readUserFile(path, { what: 'scenario file', codes: { notFound: 'SCENARIO_NOT_FOUND', notAFile: 'SCENARIO_NOT_A_FILE', tooBig: 'SCENARIO_TOO_BIG' }, maxBytes: MAX_SCENARIO_BYTES, hint: SCENARIO_FILE_HINT });
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) return scenarioFromModule(path, opts);
  return scenarioFromText(bytes.toString('utf8'), file, ext === '.json' ? 'JSON' : 'YAML', opts);
}

/** Deepest nesting a scenario file may have (the format needs about 8 levels; the checks after parsing recurse). */
const MAX_SCENARIO_DEPTH = 64;

/** The first node nested deeper than MAX_SCENARIO_DEPTH, walked without recursion. */
function tooDeep(doc: Document): { range?: [number, number, number] } | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (depth > MAX_SCENARIO_DEPTH) return node as { range?: [number, number, number] };
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          stack.push({ node: item.key, depth: depth + 1 });
          stack.push({ node: item.value, depth: depth + 1 });
        } else stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** The paths of handler modules (`handler: {module: …}`) a parsed scenario names, as zod paths. */
function handlerModules(data: unknown): PropertyKey[][] {
  const out: PropertyKey[][] = [];
  const visit = (h: unknown, path: PropertyKey[]): void => {
    if (!h || typeof h !== 'object') return;
    const o = h as Record<string, unknown>;
    if (typeof o.module === 'string' && !('model' in o)) out.push([...path, 'module']);
    if ('then' in o) visit(o.then, [...path, 'then']);
  };
  if (data && typeof data === 'object') {
    for (const k of ['seamcall', 'tdcall', 'sequence']) {
      const c = (data as Record<string, unknown>)[k];
      if (c && typeof c === 'object') visit((c as Record<string, unknown>).handler, [k, 'handler']);
    }
  }
  return out;
}

/** A scenario from YAML (or JSON, which is YAML) text; `file` names it in messages and resolves handler modules. */
export async function scenarioFromText(text: string, file: string, syntax: 'YAML' | 'JSON' = 'YAML', opts: ScenarioLoadOptions = {}): Promise<Scenario> {
  if (text.length > MAX_SCENARIO_BYTES) throw new SeamlabError('SCENARIO_TOO_BIG', `${file} is over 1 MiB`, 'a scenario file is a few lines of YAML or JSON');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    // The parser recurses per nesting level: a file nested thousands deep exhausts the stack, which is not a syntax error to fix.
    if (/call stack/i.test(e.message)) {
      throw new SeamlabError('SCENARIO_TOO_DEEP', `${at(e.pos[0])}: nested too deeply for the ${syntax} parser`, `a scenario nests a few levels (at most ${MAX_SCENARIO_DEPTH}); check the brackets or indentation`);
    }
    throw new SeamlabError('SCENARIO_SYNTAX', `${at(e.pos[0])}: ${e.message.split('\n')[0]}`, `fix the ${syntax} syntax`);
  }
  const deep = tooDeep(doc);
  if (deep) {
    throw new SeamlabError('SCENARIO_TOO_DEEP', `${deep.range ? at(deep.range[0]) : file}: nested more than ${MAX_SCENARIO_DEPTH} levels deep`, 'a scenario nests a few levels; check the brackets or indentation');
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml library refuses aliases that expand without bound (a "billion laughs" file).
    let first: number | undefined;
    visit(doc, { Alias: (_k, node) => { first = node.range?.[0]; return visit.BREAK; } });
    throw new SeamlabError('SCENARIO_ALIASES', `${first !== undefined ? at(first) : file}: aliases expand to too many nodes (${(e as Error).message})`,
      'write the values out, or use fewer aliases of aliases');
  }
  const where = positionFinder(doc, lc, file);
  if (!opts.allowCode) {
    const code = handlerModules(data)[0];
    if (code) {
      const module = code.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)[k], data);
      throw new SeamlabError('SCENARIO_CODE_NOT_ALLOWED', `${where(code)}: ${code.join('.')}: this ${syntax} scenario runs the module ${String(module)} as code, with your privileges`,
        'read the module; if you trust it, pass --allow-code (a scenario file from elsewhere should be data only)');
    }
  }
  return scenarioFromObject(smallIntsAsNumbers(data), file, where, (p, e) => loadHandlerModule(p, e, opts));
}

/**
 * The running seamlab's library bundle: what a scenario module's
 * `import … from 'seamlab'` means, wherever the module is (inside the
 * checkout or not), so that it shares the running code's classes.
 */
export function libraryEntry(): string {
  const lib = join(packageRoot(), 'dist', 'lib.js');
  if (!existsSync(lib)) {
    throw new SeamlabError('SCENARIO_NO_LIBRARY', `a scenario module imports from seamlab, but ${lib} does not exist`, 'run npm run build in the seamlab checkout');
  }
  return lib;
}

/**
 * Compiles a scenario module with esbuild (TypeScript types stripped, its own
 * imports bundled, `seamlab` and native packages left to the running
 * package) and imports it.
 */
async function importModule(path: string, opts: ScenarioLoadOptions): Promise<Record<string, unknown>> {
  const name = 'esbuild';
  let esbuild: { build: (o: object) => Promise<{ outputFiles: { text: string }[] }> };
  try {
    esbuild = await import(name) as typeof esbuild;
  } catch (e) {
    throw new SeamlabError('SCENARIO_NO_TS', `cannot load ${path}: compiling scenario modules needs the esbuild package`, 'run npm install in the seamlab checkout', { cause: e });
  }
  const seamlabImports = {
    name: 'seamlab-library',
    setup(build: { onResolve: (o: { filter: RegExp }, cb: () => { path: string; external: boolean }) => void }) {
      build.onResolve({ filter: /^seamlab$/ }, () => ({ path: pathToFileURL(libraryEntry()).href, external: true }));
    },
  };
  let code: string;
  try {
    const out = await esbuild.build({ entryPoints: [path], bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent', external: ['koffi'], plugins: [seamlabImports] });
    code = out.outputFiles[0]!.text;
  } catch (e) {
    throw new SeamlabError('SCENARIO_TS_ERROR', `cannot compile ${path}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`, 'fix the module so that it compiles', { cause: e });
  }
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-scenario-'));
  const out = join(dir, basename(path).replace(/\.[cm]?[jt]s$/, '') + '.mjs');
  writeFileSync(out, code);
  // A top-level await that never settles leaves nothing for the event loop to do: Node then exits, with
  // status 0 and no output, without running the `finally` below. Say what happened, and clean up, on the way out.
  const neverSettled = (): void => {
    rmSync(dir, { recursive: true, force: true });
    const e = new SeamlabError('SCENARIO_MODULE_HANGS', `${path} never finished loading: its top-level await waits for something that never happens`,
      'fix the module (its top-level code runs once, when the scenario is loaded)');
    process.stderr.write(`${formatError(e)}\n`);
    process.exitCode = 2; // EXIT.userError (src/cli/exit-codes.ts)
  };
  process.prependOnceListener('exit', neverSettled);
  // Top-level code that never returns (a loop) cannot be interrupted here: a watchdog thread ends the process.
  const watchdog = opts.timeLimitMs === undefined ? undefined : startLoadWatchdog(opts.timeLimitMs,
    `${formatError(new SeamlabError('SCENARIO_MODULE_HANGS', `${path} did not finish loading within ${opts.timeLimitMs} ms (the time limit): its top-level code does not return`,
      'fix the module (its top-level code runs once, when the scenario is loaded)'))}\n`, dir, 2);
  try {
    return await import(pathToFileURL(out).href) as Record<string, unknown>;
  } catch (e) {
    // The module's own top-level code failed: the user's error, not seamlab's.
    throw new SeamlabError('SCENARIO_MODULE_ERROR', `${path} failed while loading: ${thrownMessage(e)}`, 'fix the module (it runs once when the scenario is loaded)', { cause: e });
  } finally {
    await watchdog?.stop();
    process.removeListener('exit', neverSettled);
    rmSync(dir, { recursive: true, force: true });
  }
}

function asHandlerFactory(value: unknown, what: string): () => SeamHandler {
  if (typeof value === 'function' && typeof (value.prototype as { handle?: unknown } | undefined)?.handle === 'function') {
    const Ctor = value as new () => SeamHandler;
    return () => new Ctor();
  }
  if (typeof value === 'function') {
    const fn = value as SeamHandler['handle'];
    return () => ({ name: what, handle: fn });
  }
  if (value && typeof value === 'object' && typeof (value as SeamHandler).handle === 'function') return freshCopies(value as SeamHandler);
  throw new SeamlabError('SCENARIO_BAD_HANDLER', `${what} is not a handler`, 'export a class or object with handle(call), or a function (call) => outcome');
}

export async function loadHandlerModule(path: string, exportName: string | undefined, opts: ScenarioLoadOptions = {}): Promise<() => SeamHandler> {
  if (!existsSync(path)) throw new SeamlabError('SCENARIO_NOT_FOUND', `handler module ${path} does not exist`, 'give handler.module relative to the scenario file');
  const mod = await importModule(path, opts);
  const key = exportName ?? ('handler' in mod ? 'handler' : 'default');
  if (!(key in mod)) throw new SeamlabError('SCENARIO_BAD_HANDLER', `${path} has no export ${key}`, 'export const handler = { name, handle(call) { … } }');
  return asHandlerFactory(mod[key], `${basename(path)}#${key}`);
}

/**
 * A module scenario: `export const scenario = {…}` (or a default export) in
 * the file format, whose handler may be `{ handler: obj }`; or only
 * `export const handler`, which then answers the built-in success calls.
 */
export async function scenarioFromModule(path: string, opts: ScenarioLoadOptions = {}): Promise<Scenario> {
  const mod = await importModule(path, opts);
  let sc: unknown;
  try {
    sc = mod.scenario ?? (mod.default && typeof mod.default === 'object' && 'name' in mod.default ? mod.default : undefined);
    // Reading the exported object runs its getters (or a Proxy's traps): what they throw is the module's error.
    if (sc) return await scenarioFromObject(sc, path, () => path);
  } catch (e) {
    if (e instanceof SeamlabError) throw e;
    throw new SeamlabError('SCENARIO_MODULE_ERROR', `the scenario ${path} exports cannot be read: ${thrownMessage(e)}`, 'export plain data (and handler functions or objects)', { cause: e });
  }
  if ('handler' in mod) {
    const create = asHandlerFactory(mod.handler, `${basename(path)}#handler`);
    const success = builtinScenario('success')!;
    const cases: Partial<Record<SeamKind, ScenarioCase>> = {};
    for (const [k, c] of Object.entries(success.cases) as [SeamKind, ScenarioCase][]) cases[k] = { ...c, handler: { custom: basename(path), create } };
    return { name: basename(path).replace(/\.[^.]+$/, ''), summary: `${basename(path)}'s handler answering the success call`, source: path, cases };
  }
  throw new SeamlabError('SCENARIO_BAD_MODULE', `${path} exports neither scenario nor handler`, 'export const scenario = { name, seamcall: { call: { leaf: … } } } or export const handler = …');
}

/** A built-in name or a file. */
export async function resolveScenario(nameOrFile: string, opts: ScenarioLoadOptions = {}): Promise<Scenario> {
  return builtinScenario(nameOrFile) ?? loadScenarioFile(nameOrFile, opts);
}

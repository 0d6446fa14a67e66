/**
 * User scenarios: a JSON or YAML file validated with zod (an error names the
 * field, with file:line:col for YAML/JSON), or a TypeScript/JavaScript module
 * exporting a scenario or just a handler, loaded at run time.
 * The format is documented in src/seam/SCENARIOS.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { SeamlabError } from '../errors.js';
import { OPERAND_ID, parseLeaf, STATUS } from './codes.js';
import { builtinScenario } from './builtin-scenarios.js';
import type { HandlerSpec, InputValue, Scenario, ScenarioCase } from './scenario.js';
import { SYS_STATES } from './tdx-module.js';
import { GPR_NAMES } from '../support/registers.js';
import { GUEST_ENV, HOST_ENV, type GprName, type Outcome, type SeamHandler, type SeamKind } from './types.js';

const GPRS = GPR_NAMES;
const OUTPUT_REGS = GPRS.filter((r) => r !== 'rsp' && r !== 'rax');

/** "0x…", decimal, a status name ("TDX_RND_NO_ENTROPY", "TDX_OPERAND_INVALID|RCX"), or a number/bigint. */
export function parseNumber(v: bigint | number | string, leaf = false): bigint | string {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) return 'numbers above 2^53 lose precision in JSON/YAML; write them as a "0x…" string';
    return BigInt.asUintN(64, BigInt(v));
  }
  const s = v.trim();
  if (/^-?(0x[0-9a-f_]+|[0-9_]+)$/i.test(s)) {
    const digits = s.replace(/_/g, '');
    const n = digits.startsWith('-') ? -BigInt(digits.slice(1)) : BigInt(digits);
    if (n >= 1n << 64n || n < -(1n << 63n)) return `${v} does not fit in 64 bits`;
    return BigInt.asUintN(64, n);
  }
  if (leaf) {
    const l = parseLeaf(s);
    return l ?? `unknown leaf ${JSON.stringify(v)} (use a number or a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO)`;
  }
  const [name, op] = s.split('|').map((x) => x.trim());
  const base = (STATUS as Record<string, bigint>)[name!];
  if (base === undefined) return `unknown value ${JSON.stringify(v)} (use a number, a "0x…" string or a status name such as TDX_SUCCESS)`;
  if (op === undefined) return base;
  const id = (OPERAND_ID as Record<string, bigint>)[op.toLowerCase()];
  return id === undefined ? `unknown operand ${op} (RCX, RDX, R8 …)` : base | id;
}

const num = (leaf = false) => z.union([z.bigint(), z.number(), z.string()]).transform((v, ctx) => {
  const r = parseNumber(v, leaf);
  if (typeof r === 'string') {
    ctx.issues.push({ code: 'custom', message: r, input: v });
    return z.NEVER;
  }
  return r;
});

const physBuffer = z.strictObject({
  phys: z.number().int().positive().max(1 << 20),
  align: z.number().int().positive().refine((a) => (a & (a - 1)) === 0, 'align must be a power of two').optional(),
  fill: z.union([z.number().int().min(0).max(255), z.literal('pattern')]).optional(),
  offset: z.number().int().min(0).optional(),
});

const inputValue = z.union([physBuffer, num()]);

const env = z.strictObject({
  vmx: z.boolean().optional(),
  seamrr: z.boolean().optional(),
  cpl: z.number().int().min(0).max(3).optional(),
  inTd: z.boolean().optional(),
  lp: z.number().int().min(0).max(4095).optional(),
});

const step = z.union([
  z.literal('vmfailinvalid'),
  z.literal('vmfailvalid'),
  z.strictObject({ fault: z.enum(['UD', 'GP']), note: z.string().optional() }),
  z.strictObject({
    return: z.strictObject({
      rax: num(),
      regs: z.partialRecord(z.enum(OUTPUT_REGS as [string, ...string[]]), num()).optional(),
      note: z.string().optional(),
    }),
  }),
]);

type HandlerInput =
  | { model: 'tdx-module'; module?: Record<string, unknown>; seamldr?: Record<string, unknown> }
  | { model: 'td-guest'; guest?: Record<string, unknown> }
  | { script: z.infer<typeof step>[]; then?: HandlerInput }
  | { module: string; export?: string }
  | { handler: unknown };

const moduleConfig = z.strictObject({
  loaded: z.boolean().optional(),
  state: z.enum(SYS_STATES as [string, ...string[]]).optional(),
  lps: z.number().int().min(1).max(4096).optional(),
  packages: z.number().int().min(1).max(64).optional(),
  entropy: z.boolean().optional(),
  fields: z.record(z.string(), num()).optional(),
});

const handlerSchema: z.ZodType<HandlerInput> = z.lazy(() => z.union([
  z.strictObject({ model: z.literal('tdx-module'), module: moduleConfig.optional(), seamldr: z.strictObject({ loaded: z.boolean().optional(), busy: z.boolean().optional() }).optional() }),
  z.strictObject({
    model: z.literal('td-guest'),
    guest: z.strictObject({ gpaw: z.number().int().min(32).max(64).optional(), attributes: num().optional(), numVcpus: z.number().int().min(1).optional(), maxVcpus: z.number().int().min(1).optional() }).optional(),
  }),
  z.strictObject({ script: z.array(step).min(1), then: handlerSchema.optional() }),
  z.strictObject({ module: z.string().min(1), export: z.string().optional() }),
  z.strictObject({ handler: z.custom<unknown>((h) => typeof h === 'function' || (typeof h === 'object' && h !== null && typeof (h as SeamHandler).handle === 'function'), 'handler must be a function or an object with handle(call)') }),
])) as z.ZodType<HandlerInput>;

const caseSchema = z.strictObject({
  call: z.strictObject({
    leaf: num(true),
    inputs: z.partialRecord(z.enum(GPRS.filter((r) => r !== 'rax' && r !== 'rsp') as [string, ...string[]]), inputValue).optional(),
    nullOutput: z.boolean().optional(),
  }),
  env: env.optional(),
  handler: handlerSchema.optional(),
});

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits, ".", "_" and "-"'),
  summary: z.string().optional(),
  requiresOutputPointer: z.boolean().optional(),
  seamcall: caseSchema.optional(),
  tdcall: caseSchema.optional(),
}).refine((s) => s.seamcall !== undefined || s.tdcall !== undefined, { message: 'give a seamcall (host) case, a tdcall (guest) case, or both' });

export type ScenarioInput = z.input<typeof scenarioSchema>;

function toOutcome(s: z.infer<typeof step>): Outcome {
  if (s === 'vmfailinvalid' || s === 'vmfailvalid') return { kind: s };
  if ('fault' in s) return { kind: 'fault', vector: s.fault, ...(s.note ? { note: s.note } : {}) };
  return { kind: 'return', rax: s.return.rax, ...(s.return.regs ? { regs: s.return.regs as Record<string, bigint> } : {}), ...(s.return.note ? { note: s.return.note } : {}) };
}

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
      const m = h.module ?? {};
      const fields = m.fields ? new Map(Object.entries(m.fields as Record<string, bigint>).map(([k, v]) => [parseNumber(k) as bigint, v])) : undefined;
      return { model: 'tdx-module', module: { ...(m as object), ...(fields ? { fields } : {}) }, ...(h.seamldr ? { seamldr: h.seamldr } : {}) };
    }
    return { model: 'td-guest', ...(h.guest ? { guest: h.guest } : {}) };
  }
  if ('script' in h) return { script: h.script.map(toOutcome), ...(h.then ? { then: await toHandlerSpec(h.then, baseDir, load) } : {}) };
  if ('module' in h) {
    const path = resolve(baseDir, h.module);
    return { custom: basename(path), create: await load(path, h.export) };
  }
  const given = h.handler;
  return { custom: typeof given === 'function' ? 'handler' : ((given as SeamHandler).name ?? 'handler'), create: () => given as SeamHandler };
}

/** Validates and converts a parsed scenario object. `where` maps a zod path to a position for messages. */
export async function scenarioFromObject(
  data: unknown, source: string, where: (path: PropertyKey[]) => string = () => source, load: LoadModule = loadHandlerModule,
): Promise<Scenario> {
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues as ZodIssueLike[], []);
    const first = issues[0]!;
    const field = (p: PropertyKey[]) => (p.length ? p.join('.') : '(top level)');
    throw new SeamlabError('SCENARIO_INVALID', `${where(first.path)}: ${field(first.path)}: ${first.message}`,
      'fix the field; the scenario format is described in src/seam/SCENARIOS.md',
      { notes: issues.slice(1, 6).map((i) => `${where(i.path)}: ${field(i.path)}: ${i.message}`) });
  }
  const s = parsed.data;
  const baseDir = dirname(resolve(source));
  const cases: Partial<Record<SeamKind, ScenarioCase>> = {};
  for (const kind of ['seamcall', 'tdcall'] as const) {
    const c = s[kind];
    if (!c) continue;
    const defaults = kind === 'seamcall' ? HOST_ENV : GUEST_ENV;
    const inputs: Partial<Record<GprName, InputValue>> = {};
    for (const [r, v] of Object.entries(c.call.inputs ?? {})) inputs[r as GprName] = v as InputValue;
    cases[kind] = {
      call: { leaf: c.call.leaf, inputs, ...(c.call.nullOutput ? { nullOutput: true } : {}) },
      env: { ...defaults, ...c.env } as ScenarioCase['env'],
      handler: c.handler ? await toHandlerSpec(c.handler, baseDir, load) : { model: kind === 'seamcall' ? 'tdx-module' : 'td-guest' },
    };
  }
  return {
    name: s.name, summary: s.summary ?? `user scenario from ${basename(source)}`, source, cases,
    ...(s.requiresOutputPointer ? { requiresOutputPointer: true } : {}),
  };
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

/** Loads a scenario from a .json/.yaml/.yml file or a .ts/.mts/.js/.mjs module. */
export async function loadScenarioFile(file: string): Promise<Scenario> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new SeamlabError('SCENARIO_NOT_FOUND', `no scenario named ${file} and no such file`, 'use a name from `seamlab scenarios` or a path to a .yaml/.json/.ts scenario');
  }
  const ext = extname(path).toLowerCase();
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) return scenarioFromModule(path);
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_SCENARIO_BYTES) throw new SeamlabError('SCENARIO_TOO_BIG', `${file} is over 1 MiB`, 'a scenario file is a few lines of YAML or JSON');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new SeamlabError('SCENARIO_SYNTAX', `${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`, `fix the ${ext === '.json' ? 'JSON' : 'YAML'} syntax`);
  }
  return scenarioFromObject(smallIntsAsNumbers(doc.toJS({ maxAliasCount: 100 })), file, positionFinder(doc, lc, file));
}

/** Compiles a TypeScript module with esbuild (types stripped, imports bundled) and imports it. */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const ext = extname(path).toLowerCase();
  if (ext === '.js' || ext === '.mjs') return import(pathToFileURL(path).href) as Promise<Record<string, unknown>>;
  const name = 'esbuild';
  let esbuild: { build: (o: object) => Promise<{ outputFiles: { text: string }[] }> };
  try {
    esbuild = await import(name) as typeof esbuild;
  } catch (e) {
    throw new SeamlabError('SCENARIO_NO_TS', `cannot load ${path}: compiling TypeScript needs the esbuild package`, 'run npm install in the seamlab checkout, or compile the module to .js/.mjs', { cause: e });
  }
  let code: string;
  try {
    const out = await esbuild.build({ entryPoints: [path], bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent', external: ['koffi', 'seamlab'] });
    code = out.outputFiles[0]!.text;
  } catch (e) {
    throw new SeamlabError('SCENARIO_TS_ERROR', `cannot compile ${path}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`, 'fix the module so that it compiles', { cause: e });
  }
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-scenario-'));
  const out = join(dir, basename(path).replace(/\.[cm]?ts$/, '') + '.mjs');
  writeFileSync(out, code);
  try {
    return await import(pathToFileURL(out).href) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function asHandlerFactory(value: unknown, what: string): () => SeamHandler {
  if (typeof value === 'function' && value.prototype && typeof value.prototype.handle === 'function') {
    const Ctor = value as new () => SeamHandler;
    return () => new Ctor();
  }
  if (typeof value === 'function') {
    const fn = value as SeamHandler['handle'];
    return () => ({ name: what, handle: fn });
  }
  if (value && typeof value === 'object' && typeof (value as SeamHandler).handle === 'function') return () => value as SeamHandler;
  throw new SeamlabError('SCENARIO_BAD_HANDLER', `${what} is not a handler`, 'export a class or object with handle(call), or a function (call) => outcome');
}

export async function loadHandlerModule(path: string, exportName: string | undefined): Promise<() => SeamHandler> {
  if (!existsSync(path)) throw new SeamlabError('SCENARIO_NOT_FOUND', `handler module ${path} does not exist`, 'give handler.module relative to the scenario file');
  const mod = await importModule(path);
  const key = exportName ?? ('handler' in mod ? 'handler' : 'default');
  if (!(key in mod)) throw new SeamlabError('SCENARIO_BAD_HANDLER', `${path} has no export ${key}`, 'export const handler = { name, handle(call) { … } }');
  return asHandlerFactory(mod[key], `${basename(path)}#${key}`);
}

/**
 * A module scenario: `export const scenario = {…}` (or a default export) in
 * the file format, whose handler may be `{ handler: obj }`; or only
 * `export const handler`, which then answers the built-in success calls.
 */
export async function scenarioFromModule(path: string): Promise<Scenario> {
  const mod = await importModule(path);
  const sc = mod.scenario ?? (mod.default && typeof mod.default === 'object' && 'name' in (mod.default as object) ? mod.default : undefined);
  if (sc) return scenarioFromObject(sc, path, () => path);
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
export async function resolveScenario(nameOrFile: string): Promise<Scenario> {
  return builtinScenario(nameOrFile) ?? loadScenarioFile(nameOrFile);
}

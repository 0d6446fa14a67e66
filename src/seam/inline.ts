/**
 * Scenarios without a file, and scenarios as files: `inlineScenario` builds
 * the one-call scenario behind `seamlab run REV --fn F --leaf L --reg r=v
 * --answer A`, and `scenarioToYaml` writes any scenario (built-ins included)
 * in the file format of SCENARIOS.md, so `seamlab scenarios --show NAME`
 * gives a starting point that loads back to the same scenario.
 */
import { Document, Scalar } from 'yaml';
import { SeamlabError } from '../errors.js';
import { leafKind, leafName, parseLeaf, STATUS } from './codes.js';
import type { HandlerSpec, LogicalCall, Scenario, ScenarioCase, SequenceStep } from './scenario.js';
import { parseNumber } from './scenario-schema.js';
import { GPR_NAMES, isGprName } from '../support/registers.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type GprName, type Outcome, type SeamKind } from './types.js';
import type { ErrorCode } from '../error-codes.js';

export interface InlineCall {
  /** A leaf name ("TDH.SYS.RD", "TDG.VM.RD v1", "SEAMLDR.INFO") or number ("34", "0x22"). */
  leaf: string;
  /** Inputs as `--reg` gives them ("rdx=0x9100000100000008") or by register name. */
  regs?: readonly string[] | Readonly<Partial<Record<string, string | bigint>>>;
  /**
   * Who answers: omitted → the model (TDX module or TD guest); `success` →
   * TDX_SUCCESS; `vmfailinvalid`, `vmfailvalid` (SEAMCALL only); `ud`, `gp`;
   * `interrupted` (TDCALL only); or a status — a name such as
   * TDX_RND_NO_ENTROPY or TDX_OPERAND_INVALID|RCX, or a number.
   */
  answer?: string;
  /** SEAMCALL or TDCALL; needed only when the leaf is a number (default seamcall). */
  kind?: SeamKind;
  env?: Partial<CpuEnv>;
}

const INPUT_REGS = GPR_NAMES.filter((r) => r !== 'rax' && r !== 'rsp');

function inlineError(code: ErrorCode, message: string, hint: string): SeamlabError {
  return new SeamlabError(code, message, hint);
}

function parseAnswer(answer: string, kind: SeamKind): Outcome {
  const a = answer.trim();
  const lower = a.toLowerCase();
  if (lower === 'success') return { kind: 'return', rax: STATUS.TDX_SUCCESS };
  if (lower === 'vmfailinvalid' || lower === 'vmfailvalid') {
    if (kind === 'tdcall') throw inlineError('INLINE_BAD_ANSWER', `--answer ${a}: TDCALL has no VMfail outcome`, 'answer a TDCALL with success, ud, gp, interrupted or a status');
    return { kind: lower };
  }
  if (lower === 'ud' || lower === 'gp') return { kind: 'fault', vector: lower === 'ud' ? 'UD' : 'GP' };
  if (lower === 'interrupted') {
    if (kind === 'seamcall') throw inlineError('INLINE_BAD_ANSWER', `--answer ${a}: a SEAMCALL always resumes after the instruction`, 'answer TDX_INTERRUPTED_RESUMABLE for an interrupted host call');
    return { kind: 'interrupted' };
  }
  const v = parseNumber(a);
  if (typeof v === 'string') {
    throw inlineError('INLINE_BAD_ANSWER', `--answer ${a}: not success, vmfailinvalid, vmfailvalid, ud, gp, interrupted or a status`, 'give a status name such as TDX_RND_NO_ENTROPY or TDX_OPERAND_INVALID|RCX, or a number');
  }
  return { kind: 'return', rax: v };
}

function parseRegs(regs: InlineCall['regs']): Partial<Record<GprName, bigint>> {
  const pairs: [string, string | bigint][] = Array.isArray(regs)
    ? (regs as readonly string[]).map((r) => {
      const m = /^\s*([a-z0-9]+)\s*=\s*(.+?)\s*$/i.exec(r);
      if (!m) throw inlineError('INLINE_BAD_REGISTER', `--reg ${r}: expected REG=VALUE`, 'write e.g. --reg rdx=0x9100000100000008');
      return [m[1]!.toLowerCase(), m[2]!] as [string, string];
    })
    : Object.entries(regs ?? {}) as [string, string | bigint][];
  const out: Partial<Record<GprName, bigint>> = {};
  for (const [name, value] of pairs) {
    if (!isGprName(name)) throw inlineError('INLINE_BAD_REGISTER', `unknown register ${name}`, `use one of ${INPUT_REGS.join(', ')}`);
    if (name === 'rax') throw inlineError('INLINE_BAD_REGISTER', 'RAX carries the leaf', 'give the leaf with --leaf');
    if (name === 'rsp') throw inlineError('INLINE_BAD_REGISTER', 'RSP is not a SEAM call input', `use one of ${INPUT_REGS.join(', ')}`);
    const v = parseNumber(value);
    if (typeof v === 'string') throw inlineError('INLINE_BAD_VALUE', `${name}=${String(value)}: ${v}`, 'write a number: 0x… or decimal');
    out[name] = v;
  }
  return out;
}

/** The scenario of one call given on the command line; `source` is 'inline'. */
export function inlineScenario(c: InlineCall): Scenario {
  const leafText = c.leaf.trim();
  const leaf = parseLeaf(leafText) ?? (() => {
    const n = parseNumber(leafText);
    return typeof n === 'bigint' ? n : undefined;
  })();
  if (leaf === undefined) throw inlineError('INLINE_UNKNOWN_LEAF', `unknown leaf ${JSON.stringify(c.leaf)}`, 'give a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO, or a number');
  const named = leafKind(leafText.replace(/\s+v\d+$/, ''));
  if (named && c.kind && named !== c.kind) throw inlineError('INLINE_UNKNOWN_LEAF', `${leafText} is a ${named === 'tdcall' ? 'TDCALL' : 'SEAMCALL'} leaf, not a ${c.kind === 'tdcall' ? 'TDCALL' : 'SEAMCALL'} one`, 'drop the kind or pick a leaf of that instruction');
  const kind: SeamKind = named ?? c.kind ?? 'seamcall';
  const inputs = parseRegs(c.regs);
  const answer = c.answer === undefined ? undefined : parseAnswer(c.answer, kind);
  const modelName = kind === 'seamcall' ? 'tdx-module' : 'td-guest';
  const model: HandlerSpec = { model: modelName };
  const handler: HandlerSpec = answer ? { script: [answer] } : model;
  const shown = leafName(kind, leaf) ?? `0x${leaf.toString(16)}`;
  const regText = Object.entries(inputs).map(([r, v]) => `${r}=0x${v.toString(16)}`).join(' ');
  return {
    name: 'inline',
    summary: `${shown}${regText ? ` ${regText}` : ''} answered by ${c.answer === undefined ? `the ${modelName} model` : c.answer}`,
    source: 'inline',
    cases: { [kind]: { call: { leaf, inputs }, env: { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...c.env }, handler } },
  };
}

/** A 64-bit value as YAML writes it: 0x… (loads back as the same bigint). */
function hexScalar(v: bigint): Scalar {
  const s = new Scalar(v);
  s.format = 'HEX';
  return s;
}

function yamlValue(v: unknown): unknown {
  if (typeof v === 'bigint') return hexScalar(v);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [typeof k === 'bigint' ? `0x${k.toString(16)}` : String(k), yamlValue(x)]));
  if (Array.isArray(v)) return v.map(yamlValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, yamlValue(x)]));
  return v;
}

/** A status as a name when it is one ("TDX_RND_NO_ENTROPY"), else hex. */
function statusValue(v: bigint): unknown {
  const name = Object.entries(STATUS).find(([, x]) => x === v)?.[0];
  return name ?? hexScalar(v);
}

function outcomeYaml(o: Outcome): unknown {
  const note = o.note ? { note: o.note } : {};
  switch (o.kind) {
    case 'vmfailinvalid': case 'vmfailvalid': return o.note ? { [o.kind]: note } : o.kind;
    case 'fault': return { fault: o.vector, ...note };
    case 'interrupted': return o.rax === undefined && !o.regs && !o.note ? 'interrupted' : { interrupted: { ...(o.rax !== undefined ? { rax: statusValue(o.rax) } : {}), ...(o.regs ? { regs: yamlValue(o.regs) } : {}), ...note } };
    case 'return': return { return: { rax: statusValue(o.rax), ...(o.regs ? { regs: yamlValue(o.regs) } : {}), ...note } };
  }
}

function handlerYaml(h: HandlerSpec, where: string): unknown {
  if ('custom' in h) throw new SeamlabError('SCENARIO_NOT_SERIALIZABLE', `${where}: the handler ${h.custom} is code, not data`, 'write it as { module: ./your-handler.ts } in the file');
  if ('script' in h) return { script: h.script.map(outcomeYaml), ...(h.then ? { then: handlerYaml(h.then, where) } : {}) };
  if (h.model === 'tdx-module') return { model: h.model, ...(h.module ? { module: yamlValue(h.module) } : {}), ...(h.seamldr ? { seamldr: yamlValue(h.seamldr) } : {}) };
  if (h.vmm || h.guest?.vmm) throw new SeamlabError('SCENARIO_NOT_SERIALIZABLE', `${where}: a custom VMM is code, not data`, 'write the scenario as a .ts module');
  return { model: h.model, ...(h.guest ? { guest: yamlValue(h.guest) } : {}) };
}

function envDiff(env: CpuEnv, base: CpuEnv): Partial<CpuEnv> | undefined {
  const d = Object.fromEntries(Object.entries(env).filter(([k, v]) => base[k as keyof CpuEnv] !== v));
  return Object.keys(d).length ? d : undefined;
}

function callYaml(kind: SeamKind, c: LogicalCall): unknown {
  const inputs = Object.entries(c.inputs);
  return {
    leaf: leafName(kind, c.leaf) ?? hexScalar(c.leaf),
    ...(inputs.length ? { inputs: Object.fromEntries(inputs.map(([r, v]) => [r, yamlValue(v)])) } : {}),
    ...(c.nullOutput ? { nullOutput: true } : {}),
  };
}

function caseYaml(kind: SeamKind, c: ScenarioCase, where: string): unknown {
  const env = envDiff(c.env, kind === 'seamcall' ? HOST_ENV : GUEST_ENV);
  return { call: callYaml(kind, c.call), ...(env ? { env } : {}), handler: handlerYaml(c.handler, where) };
}

function stepYaml(kind: SeamKind, s: SequenceStep, base: CpuEnv): unknown {
  const env = envDiff(s.env, base);
  const e = s.expect;
  return {
    ...(s.label ? { label: s.label } : {}),
    call: callYaml(kind, s.call),
    ...(env ? { env } : {}),
    ...(e ? { expect: { ...(e.status !== undefined ? { status: statusValue(e.status) } : {}), ...(e.outputs ? { outputs: yamlValue(e.outputs) } : {}), ...(e.outcome ? { outcome: e.outcome } : {}) } } : {}),
    ...(s.repeat ? { repeat: { while: s.repeat.while, below: hexScalar(s.repeat.below), max: s.repeat.max } } : {}),
  };
}

/** The scenario in the file format (SCENARIOS.md); loading the text gives the same scenario back. */
export function scenarioToYaml(s: Scenario): string {
  const out: Record<string, unknown> = { name: s.name, summary: s.summary };
  if (s.requiresOutputPointer) out.requiresOutputPointer = true;
  for (const kind of ['seamcall', 'tdcall'] as const) {
    const c = s.cases[kind];
    if (c) out[kind] = caseYaml(kind, c, `${s.name}.${kind}`);
  }
  if (s.sequence) {
    const q = s.sequence;
    const base = q.kind === 'seamcall' ? HOST_ENV : GUEST_ENV;
    out.sequence = {
      kind: q.kind,
      handler: handlerYaml(q.handler, `${s.name}.sequence`),
      ...(q.memory.length ? { memory: q.memory.map((m) => ({ phys: hexScalar(m.phys), u64: m.u64.map(hexScalar) })) } : {}),
      steps: q.steps.map((st) => stepYaml(q.kind, st, base)),
    };
  }
  return new Document(out).toString({ lineWidth: 0 });
}

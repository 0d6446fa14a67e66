/**
 * The scenario file format as zod schemas: numbers and names, CPU
 * environments, scripted answers, the model configurations, single-call
 * cases and sequences. scenario-file.ts loads files with them; the format
 * is documented in src/seam/SCENARIOS.md.
 */
import { z } from 'zod';
import { OPERAND_ID, parseLeaf, STATUS } from './codes.js';
import { LOCK_NAMES, MODULE_VERSIONS, SYS_STATES } from './module-state.js';
import { OPERAND_IDS, PSEAMLDR_STATUS } from './status-table.js';
import { GPR_NAMES } from '../support/registers.js';
import { OUTCOME_KINDS, type Outcome } from './types.js';

export const OUTPUT_REGS = GPR_NAMES.filter((r) => r !== 'rsp' && r !== 'rax');

/** "0x…", decimal, a status name ("TDX_RND_NO_ENTROPY", "TDX_OPERAND_INVALID|RCX", "TDX_OPERAND_BUSY|KET", "PSEAMLDR_EBADPARAM"), or a number/bigint. */
export function parseNumber(v: bigint | number | string, leaf = false): bigint | string {
  // One range for every spelling (YAML integers arrive as bigints, quoted ones as strings): 64 bits, unsigned or
  // two's complement. Wider values are refused, never wrapped: 2^64 is not 0.
  const fit = (n: bigint, shown: string): bigint | string => (n >= 1n << 64n || n < -(1n << 63n) ? `${shown} does not fit in 64 bits` : BigInt.asUintN(64, n));
  // A YAML integer arrives as a bigint, whatever its spelling: show it both ways.
  if (typeof v === 'bigint') return fit(v, `${v} (${v < 0n ? '-' : ''}0x${(v < 0n ? -v : v).toString(16)})`);
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || !Number.isInteger(v)) return `${v} is not an integer`;
    if (!Number.isSafeInteger(v)) return 'numbers above 2^53 lose precision in JSON/YAML; write them as a "0x…" string';
    return BigInt.asUintN(64, BigInt(v));
  }
  const s = v.trim();
  if (/^-?(0x[0-9a-f_]+|[0-9_]+)$/i.test(s)) {
    const digits = s.replace(/_/g, '');
    const n = digits.startsWith('-') ? -BigInt(digits.slice(1)) : BigInt(digits);
    return fit(n, v);
  }
  if (leaf) {
    const l = parseLeaf(s);
    return l ?? `unknown leaf ${JSON.stringify(v)} (use a number or a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO)`;
  }
  const [name, op] = s.split('|').map((x) => x.trim());
  const base = (STATUS as Record<string, bigint>)[name!] ?? (PSEAMLDR_STATUS as Record<string, bigint>)[name!];
  if (base === undefined) return `unknown value ${JSON.stringify(v)} (use a number, a "0x…" string or a status name such as TDX_SUCCESS)`;
  if (op === undefined) return base;
  const id = (OPERAND_ID as Record<string, bigint>)[op.toLowerCase()] ?? (OPERAND_IDS as Record<string, bigint>)[op.toUpperCase()];
  return id === undefined ? `unknown operand ${op} (RCX, RDX, R8 …, or an operand id such as KET, TDR, TD_EPOCH)` : base | id;
}

export const num = (leaf = false) => z.union([z.bigint(), z.number(), z.string()]).transform((v, ctx) => {
  const r = parseNumber(v, leaf);
  if (typeof r === 'string') {
    ctx.issues.push({ code: 'custom', message: r, input: v });
    return z.NEVER;
  }
  return r;
});

const outputReg = z.enum(OUTPUT_REGS as [string, ...string[]]);
const regRecord = z.partialRecord(outputReg, num());

const physBuffer = z.strictObject({
  phys: z.number().int().positive().max(1 << 20),
  align: z.number().int().positive().refine((a) => (a & (a - 1)) === 0, 'align must be a power of two').optional(),
  fill: z.union([z.number().int().min(0).max(255), z.literal('pattern')]).optional(),
  offset: z.number().int().min(0).optional(),
});

const inputValue = z.union([physBuffer, num()]);

export const envSchema = z.strictObject({
  vmx: z.boolean().optional(),
  seamrr: z.boolean().optional(),
  cpl: z.number().int().min(0).max(3).optional(),
  inTd: z.boolean().optional(),
  lp: z.number().int().min(0).max(4095).optional(),
});

/** One scripted answer. */
export const stepSchema = z.union([
  z.literal('vmfailinvalid'),
  z.literal('vmfailvalid'),
  z.literal('interrupted'),
  z.strictObject({ vmfailinvalid: z.strictObject({ note: z.string().optional() }) }),
  z.strictObject({ vmfailvalid: z.strictObject({ note: z.string().optional() }) }),
  z.strictObject({ fault: z.enum(['UD', 'GP']), note: z.string().optional() }),
  z.strictObject({ interrupted: z.strictObject({ rax: num().optional(), regs: regRecord.optional(), note: z.string().optional() }) }),
  z.strictObject({ return: z.strictObject({ rax: num(), regs: regRecord.optional(), note: z.string().optional() }) }),
]);
export type StepInput = z.infer<typeof stepSchema>;

export function toOutcome(s: StepInput): Outcome {
  if (s === 'vmfailinvalid' || s === 'vmfailvalid' || s === 'interrupted') return { kind: s };
  if ('fault' in s) return { kind: 'fault', vector: s.fault, ...(s.note ? { note: s.note } : {}) };
  if ('vmfailinvalid' in s) return { kind: 'vmfailinvalid', ...(s.vmfailinvalid.note ? { note: s.vmfailinvalid.note } : {}) };
  if ('vmfailvalid' in s) return { kind: 'vmfailvalid', ...(s.vmfailvalid.note ? { note: s.vmfailvalid.note } : {}) };
  if ('interrupted' in s) {
    const i = s.interrupted;
    return { kind: 'interrupted', ...(i.rax !== undefined ? { rax: i.rax } : {}), ...(i.regs ? { regs: i.regs } : {}), ...(i.note ? { note: i.note } : {}) };
  }
  return { kind: 'return', rax: s.return.rax, ...(s.return.regs ? { regs: s.return.regs } : {}), ...(s.return.note ? { note: s.return.note } : {}) };
}

const busyRule = z.strictObject({
  lock: z.enum(LOCK_NAMES as [string, ...string[]]),
  times: z.number().int().min(1).optional(),
  hostPriority: z.boolean().optional(),
});

const vpExit = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('tdvmcall'), gprSelect: z.number().int().min(0).max(0xffff), xmmSelect: z.number().int().min(0).max(0xffff).optional(), regs: regRecord.optional() }),
  z.strictObject({
    kind: z.literal('async'), reason: z.number().int().min(0).max(0xffff), qualification: num().optional(), extQualification: num().optional(),
    gpa: num().optional(), interruptionInfo: num().optional(), trap: z.boolean().optional(),
  }),
]);

export const moduleConfigSchema = z.strictObject({
  loaded: z.boolean().optional(),
  version: z.enum(MODULE_VERSIONS as [string, ...string[]]).optional(),
  state: z.enum(SYS_STATES as [string, ...string[]]).optional(),
  lps: z.number().int().min(1).max(4096).optional(),
  packages: z.number().int().min(1).max(64).optional(),
  entropy: z.union([z.boolean(), z.number().int().min(0)]).optional(),
  fields: z.record(z.string(), num()).optional(),
  cmrs: z.array(z.strictObject({ base: num(), size: num() })).max(32).optional(),
  keyIds: z.strictObject({ mktme: z.number().int().min(0).max(0xfffe), tdx: z.number().int().min(1).max(0xfffe) }).optional(),
  tdmrs: z.array(z.strictObject({ base: num(), size: num(), initialized: z.boolean().optional() })).max(64).optional(),
  globalKeyId: z.number().int().min(1).max(0xffff).optional(),
  busy: z.array(busyRule).optional(),
  interrupts: z.number().int().min(0).optional(),
  cacheSubBlocks: z.number().int().min(1).max(1 << 20).optional(),
  tds: z.array(z.strictObject({
    tdr: num(), hkid: z.number().int().min(1).max(0xffff),
    state: z.enum(['hkid-assigned', 'keys-configured', 'uninitialized', 'initialized', 'runnable']).optional(),
    noRbpMod: z.boolean().optional(),
    vcpus: z.array(z.strictObject({ tdvpr: num(), exits: z.array(vpExit).optional() })).optional(),
  })).optional(),
});

export const seamldrConfigSchema = z.strictObject({
  loaded: z.boolean().optional(),
  busy: z.boolean().optional(),
  acmLp: z.number().int().min(0).optional(),
  remainingUpdates: z.number().int().min(0).optional(),
});

export const guestConfigSchema = z.strictObject({
  version: z.enum(MODULE_VERSIONS as [string, ...string[]]).optional(),
  gpaw: z.union([z.literal(48), z.literal(52)]).optional(),
  attributes: num().optional(),
  xfam: num().optional(),
  numVcpus: z.number().int().min(1).optional(),
  maxVcpus: z.number().int().min(1).optional(),
  flexiblePendingVe: z.boolean().optional(),
  noRbpMod: z.boolean().optional(),
  pages: z.enum(['4k-pending', '2m-pending', 'accepted']).optional(),
  interrupts: z.number().int().min(0).optional(),
  busy: z.array(z.strictObject({ lock: z.literal('sept'), times: z.number().int().min(1).optional(), hostPriority: z.boolean().optional(), hostRecoverabilityHint: z.boolean().optional() })).optional(),
  veInfo: z.strictObject({ exitReason: z.number().int().min(0), exitQualification: num(), gla: num(), gpa: num(), instLenAndInfo: num() }).optional(),
});

export type HandlerInput =
  | { model: 'tdx-module'; module?: Record<string, unknown>; seamldr?: Record<string, unknown> }
  | { model: 'td-guest'; guest?: Record<string, unknown> }
  | { script: StepInput[]; then?: HandlerInput }
  | { module: string; export?: string }
  | { handler: unknown };

export const handlerSchema: z.ZodType<HandlerInput> = z.lazy(() => z.union([
  z.strictObject({ model: z.literal('tdx-module'), module: moduleConfigSchema.optional(), seamldr: seamldrConfigSchema.optional() }),
  z.strictObject({ model: z.literal('td-guest'), guest: guestConfigSchema.optional() }),
  z.strictObject({ script: z.array(stepSchema).min(1), then: handlerSchema.optional() }),
  z.strictObject({ module: z.string().min(1), export: z.string().optional() }),
  z.strictObject({ handler: z.custom<unknown>((h) => typeof h === 'function' || (typeof h === 'object' && h !== null && typeof (h as { handle?: unknown }).handle === 'function'), 'handler must be a function or an object with handle(call)') }),
]));

const callSchema = z.strictObject({
  leaf: num(true),
  inputs: z.partialRecord(outputReg, inputValue).optional(),
  nullOutput: z.boolean().optional(),
});

export const caseSchema = z.strictObject({
  call: callSchema,
  env: envSchema.optional(),
  handler: handlerSchema.optional(),
});

export const sequenceSchema = z.strictObject({
  kind: z.enum(['seamcall', 'tdcall']).optional(),
  handler: handlerSchema.optional(),
  env: envSchema.optional(),
  memory: z.array(z.strictObject({ phys: num(), u64: z.array(num()).min(1) })).optional(),
  steps: z.array(z.strictObject({
    label: z.string().optional(),
    call: callSchema,
    env: envSchema.optional(),
    expect: z.strictObject({
      status: num().optional(),
      outputs: regRecord.optional(),
      outcome: z.enum(OUTCOME_KINDS as unknown as [string, ...string[]]).optional(),
    }).optional(),
    repeat: z.strictObject({ while: outputReg, below: num(), max: z.number().int().min(1).max(1_000_000) }).optional(),
  })).min(1),
});

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits, ".", "_" and "-"'),
  summary: z.string().optional(),
  requiresOutputPointer: z.boolean().optional(),
  seamcall: caseSchema.optional(),
  tdcall: caseSchema.optional(),
  sequence: sequenceSchema.optional(),
}).refine((s) => s.seamcall !== undefined || s.tdcall !== undefined || s.sequence !== undefined, { message: 'give a seamcall (host) case, a tdcall (guest) case, both, or a sequence' })
  .refine((s) => s.sequence === undefined || (s.seamcall === undefined && s.tdcall === undefined), { message: 'a sequence scenario has no separate seamcall/tdcall case' });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioParsed = z.infer<typeof scenarioSchema>;

/**
 * The trace format, `seamlab-trace` version 1: JSON Lines, one header, one
 * record per executed instruction, one summary. Described once, here, as zod
 * schemas; the JSON Schema shipped with the package is generated from them
 * (`traceJsonSchema`). 64-bit values are lower-case hex strings ("0x1f"),
 * since JSON numbers cannot hold them.
 *
 * What a step shows is what QEMU's `-d in_asm,cpu` and Tenet's traces show
 * at a glance — address, bytes, instruction, changed registers, memory
 * accesses — plus what only seamlab knows: the kernel source line and the
 * GAS macro expansion it came from, the names of the memory it touched
 * (`out->r8`, `stack[rsp+8]`), and the SEAM call served at that step.
 *
 * Determinism: no timestamps, no host paths, keys in a fixed order.
 */
import { z } from 'zod';
import { RFLAGS } from '../support/registers.js';

export const TRACE_FORMAT = 'seamlab-trace';
export const TRACE_VERSION = 1;

const Hex = z.string().regex(/^0x[0-9a-f]+$/, 'a lower-case hex string like "0x1f"');
const FlagName = z.enum(Object.keys(RFLAGS) as [keyof typeof RFLAGS, ...(keyof typeof RFLAGS)[]]);
const RegName = z.enum(['rax', 'rcx', 'rdx', 'rbx', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rbp', 'rsp', 'rflags']);

/** A file and the git blob id of the content seamlab read. */
const FileBlob = z.object({ path: z.string(), blob: z.string().regex(/^[0-9a-f]{40}$/) });

export const TraceHeaderSchema = z.object({
  type: z.literal('header'),
  format: z.literal(TRACE_FORMAT),
  version: z.literal(TRACE_VERSION),
  /** seamlab's package version (informative: goldens do not compare it). */
  seamlab: z.string(),
  /**
   * Where the trace came from: 'unicorn' (seamlab's machine) or 'silicon'
   * (the host CPU, single-stepped under ptrace: `seamlab trace --on silicon`).
   * A silicon trace has every field a Unicorn trace has, but the CPU reports
   * only the bytes an instruction changed: its `mem` accesses are derived
   * from the instruction's operands and the registers before it (values
   * from memory before and after the step); an instruction that faulted
   * shows none; FS/GS-relative operands are not derived; RFLAGS leave out
   * RF and TF (src/oracle/replay.ts).
   */
  executor: z.enum(['unicorn', 'silicon']),
  revision: z.object({
    spec: z.string(),
    /** Debian package and upload of a built-in base (informative: goldens are keyed on blob ids). */
    package: z.string().optional(),
    packageVersion: z.string().optional(),
    /** The patches applied, as given. */
    patches: z.array(z.object({ source: z.string(), subject: z.string().optional() })),
    /** Every file of the revision the build read, with its git blob id: what identifies the source. */
    inputs: z.array(FileBlob),
  }),
  function: z.string(),
  sourceFile: z.string(),
  profile: z.string(),
  prototype: z.string(),
  scenario: z.object({
    name: z.string(),
    /** sha256 of the scenario case as run (call, environment, handler). */
    hash: z.string(),
  }),
  /** sha256 of the linked image (sections, symbols, exception table). */
  image: z.object({ hash: z.string() }),
  /** Registers at the first instruction (steps list only what changes). */
  entry: z.object({ regs: z.partialRecord(RegName, Hex) }),
  /** Named memory the call plan placed. */
  labels: z.array(z.object({ address: Hex, size: z.number().int().positive(), name: z.string() })),
});

export const MemoryAccessSchema = z.object({
  op: z.enum(['r', 'w']),
  addr: Hex,
  size: z.number().int().positive(),
  value: Hex,
  /** `out->r8`, `args->rcx+0x4`, `stack[rsp+8]`, `return address` … */
  label: z.string().optional(),
});

/** What the SEAM side answered (src/seam/types.ts `Outcome`, values in hex). */
export const OutcomeSchema = z.object({
  kind: z.string(),
  rax: Hex.optional(),
  regs: z.record(z.string(), Hex).optional(),
  vector: z.string().optional(),
  note: z.string().optional(),
}).loose();

export const SeamEventSchema = z.object({
  kind: z.enum(['seamcall', 'tdcall']),
  index: z.number().int().nonnegative(),
  leaf: Hex,
  leafName: z.string().optional(),
  /** Every GPR when the instruction trapped. */
  in: z.partialRecord(RegName, Hex),
  handler: z.string(),
  outcome: OutcomeSchema,
  statusName: z.string().optional(),
  /** How execution continued: after the instruction, at an exception-table fixup, or not at all (oops). */
  path: z.enum(['resumed', 'exception-table', 'oops']),
  /** Memory the SEAM side wrote, with the bytes written. */
  memWrites: z.array(z.object({ addr: Hex, bytes: z.string() })),
});

export const TraceStepSchema = z.object({
  type: z.literal('step'),
  /** 0-based count of instructions executed before this one. */
  step: z.number().int().nonnegative(),
  rip: Hex,
  /** `__seamcall+0x1e`. */
  sym: z.string().optional(),
  /** The instruction's bytes, "66 0f 01 cf". */
  bytes: z.string(),
  /** AT&T disassembly (Capstone; seamcall/tdcall named). */
  asm: z.string(),
  /** The source line, tree-relative: "arch/x86/virt/vmx/tdx/tdxcall.S:52". */
  src: z.string().optional(),
  /** The statement as assembled, after macro substitution. */
  stmt: z.string().optional(),
  /** GAS macro expansions this statement is inside, innermost first: "TDX_MODULE_CALL at arch/x86/virt/vmx/tdx/seamcall.S:48". */
  macros: z.array(z.string()).optional(),
  /** Registers this instruction changed: [before, after]. */
  regs: z.partialRecord(RegName, z.tuple([Hex, Hex])).optional(),
  /** RFLAGS bits this instruction set and cleared. */
  flags: z.object({ set: z.array(FlagName), cleared: z.array(FlagName) }).optional(),
  mem: z.array(MemoryAccessSchema).optional(),
  seam: SeamEventSchema.optional(),
  /** A CPU exception at this instruction, and where the exception table sent execution. */
  fault: z.object({ vector: z.number().int(), fixup: Hex.optional() }).optional(),
});

export const TraceSummarySchema = z.object({
  type: z.literal('summary'),
  /** How the run ended: returned, oops, fault, runaway, panic, handler-error, stopped — with details. */
  end: z.object({ kind: z.string() }).loose(),
  instructions: z.number().int().nonnegative(),
  returnValue: Hex.optional(),
  returnName: z.string().optional(),
  /** The structs the caller passed, field by field, after the call. */
  outputs: z.array(z.object({
    param: z.string(),
    struct: z.string(),
    fields: z.array(z.object({ name: z.string(), value: Hex, written: z.boolean() })),
  })),
  checks: z.array(z.object({ name: z.string(), status: z.enum(['pass', 'fail', 'n/a']), detail: z.string() })),
  ok: z.boolean(),
});

export type TraceHeader = z.infer<typeof TraceHeaderSchema>;
export type TraceStep = z.infer<typeof TraceStepSchema>;
export type TraceSummary = z.infer<typeof TraceSummarySchema>;
export type MemoryAccessRecord = z.infer<typeof MemoryAccessSchema>;
export type SeamEvent = z.infer<typeof SeamEventSchema>;

export interface Trace {
  header: TraceHeader;
  steps: TraceStep[];
  summary: TraceSummary;
}

export const TraceLineSchema = z.discriminatedUnion('type', [TraceHeaderSchema, TraceStepSchema, TraceSummarySchema]);

/** The JSON Schema of one trace line, generated from the zod schemas. */
export function traceJsonSchema(): object {
  return z.toJSONSchema(TraceLineSchema, { target: 'draft-2020-12' });
}

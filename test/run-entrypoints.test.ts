/**
 * Every entry point of v3, linux-6.1 and linux-6.12 × every built-in
 * scenario, run on Unicorn through the System V harness. The expected
 * caller-visible results are derived by hand from the kernel sources
 * (tdxcall.S R0 and R5, seamcall.S, tdcall.S, asm/tdx.h, mm/extable.c) and
 * the models' documented answers — never recorded from seamlab's output.
 *
 * Notation: C(r) is the canary the harness leaves in register r (a caller's
 * leftover); PHYS is the start of the physical-memory area, where the
 * scenario's buffers are placed in order (1024-aligned report first, …).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { canary, OUTPUT_POISON } from '../src/run/plan.js';
import { notApplicable, runScenario, type RunResult } from '../src/run/run.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { Revision } from '../src/intake/types.js';
import { DEFAULT_LAYOUT } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import type { GprName } from '../src/seam/types.js';
import { testImage } from './support/images.js';
import { loadDisassembler } from '../src/encode/capstone.js';

const C = canary;
const PHYS = DEFAULT_LAYOUT.physBase;
const POISON = BigInt('0x' + OUTPUT_POISON.toString(16).repeat(8));
const CALLEE_SAVED: GprName[] = ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'];

// asm/tdx.h (5.19+ / 6.7+): TDX_SW_ERROR = BIT(63) | GENMASK(47,40); VMFAILINVALID = SW_ERROR | 0xFFFF0000;
// SEAMCALL_UD/GP = SW_ERROR | X86_TRAP_UD (6) / X86_TRAP_GP (13).
const TDX_SW_ERROR = 0x8000FF0000000000n;
const VMFAILINVALID = 0x8000FF00FFFF0000n;
const SEAMCALL_UD = 0x8000FF0000000006n;
const SEAMCALL_GP = 0x8000FF000000000Dn;
// Model answers (tdx_error_codes_defs.h values).
const NO_ENTROPY = 0x8000020300000000n;
const FIELD_ID_INCORRECT = 0xC0000C0000000000n;
const OPERAND_INVALID_RDX = 0xC000010000000002n;
const VMCALL_INVALID_OPERAND = 0x8000000000000000n;
const MAX_TDMRS = 0x9100000100000008n;
const UNKNOWN_FIELD = 0x9100000100000fffn;
const SYS_INIT = 0x21n; // TDH.SYS.INIT = 33, left in RAX when VMfailValid is ignored
const MAP_GPA = 0x10001n;
// TDG.VP.INFO from the guest model: GPAW 48, 4/4 VCPUs (8/8 on VCPU 3 for vp-info).
const VP_INFO = { rcx: 48n, rdx: 0n, r8: (4n << 32n) | 4n, r9: 0n, r10: 0n, r11: 0n };
const VP_INFO_3 = { rcx: 48n, rdx: 0n, r8: (8n << 32n) | 8n, r9: 3n, r10: 0n, r11: 0n };

interface Expect {
  /** RAX the caller gets, or the oops vector. */
  ret?: bigint;
  oops?: 'UD' | 'GP';
  /** Taken the exception-table fixup. */
  fixup?: boolean;
  /** Fields written into the struct parameter (every other field must be untouched). */
  written?: Record<string, bigint>;
  /** Registers the caller sees afterwards. */
  regs?: Partial<Record<GprName, bigint>>;
  unpassable?: GprName[];
  /** RFLAGS bits the SEAM call left (CF 0x1, ZF 0x40) among the six status flags. */
  seamFlags?: bigint;
  check?: (r: RunResult, m: Machine) => void;
}

type Table = Record<string, Record<string, Expect>>;

const OUT6 = (rcx: bigint, rdx: bigint, r8: bigint, r9: bigint, r10: bigint, r11: bigint) => ({ rcx, rdx, r8, r9, r10, r11 });
const ZERO13 = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n, rbx: 0n, rdi: 0n, rsi: 0n };

/** R0 host (`TDX_MODULE_CALL host=1` in the v3 seamcall.S): *out gets RCX, RDX, R8–R11 after every SEAMCALL that returns. */
const R0_HOST: Record<string, Expect> = {
  success: { ret: 0n, written: OUT6(0n, MAX_TDMRS, 64n, 0n, C('r10'), C('r11')), seamFlags: 0n },
  error: { ret: FIELD_ID_INCORRECT, written: OUT6(0n, UNKNOWN_FIELD, 0n, 0n, C('r10'), C('r11')) },
  'no-entropy': { ret: NO_ENTROPY, written: OUT6(0n, 0n, 0n, 0n, C('r10'), C('r11')) },
  // The store happens even on VMfailInvalid.
  vmfailinvalid: { ret: VMFAILINVALID, written: OUT6(0n, 0n, 0n, 0n, C('r10'), C('r11')), seamFlags: 0x1n },
  // Only CF is tested: ZF=1 goes unnoticed and RAX still holds the leaf.
  vmfailvalid: { ret: SYS_INIT, written: OUT6(0n, 0n, 0n, 0n, C('r10'), C('r11')), seamFlags: 0x40n },
  ud: { oops: 'UD', written: {} },
  gp: { oops: 'GP', written: {} },
  'null-out': { ret: 0n },
  'seamldr-info': {
    ret: 0n, written: OUT6(PHYS, 0n, 0n, 0n, C('r10'), C('r11')),
    check: (_r, m) => { expect(m.phys.buffer.readUInt32LE(8)).toBe(0x8086); },
  },
};

/** R0 guest (`__tdx_module_call`, host=0): the same stores, no CF check. */
const R0_GUEST: Record<string, Expect> = {
  success: { ret: 0n, written: VP_INFO },
  error: { ret: OPERAND_INVALID_RDX, written: OUT6(PHYS, PHYS + 1024n + 8n, 0n, 0n, C('r10'), C('r11')) },
  ud: { oops: 'UD', written: {} },
  gp: { oops: 'GP', written: {} },
  'null-out': { ret: 0n },
  'vp-info': { ret: 0n, written: VP_INFO_3 },
  'mr-report': {
    ret: 0n, written: OUT6(PHYS, PHYS + 1024n, 0n, 0n, C('r10'), C('r11')),
    check: (_r, m) => {
      expect(m.phys.buffer[0]).toBe(0x81);
      expect([...m.phys.buffer.subarray(128, 192)]).toEqual([...Array(64).keys()]);
    },
  },
  'page-accept': {
    ret: 0n, written: OUT6(PHYS, 0n, 0n, 0n, C('r10'), C('r11')),
    check: (_r, m) => { expect(m.phys.buffer.subarray(0, 4096).every((b) => b === 0)).toBe(true); },
  },
  // R10 cannot be passed, so the caller's leftover reaches the VMM: not a GHCI standard call.
  vmcall: { ret: 0n, written: OUT6(0xffccn, 0n, 0n, 0n, VMCALL_INVALID_OPERAND, C('r11')), unpassable: ['r10', 'r11', 'r12', 'r13'] },
};

/** R5 `__seamcall` (ret=0): nothing is stored; module outputs stay in the caller-clobbered registers. */
const R5_SEAMCALL: Record<string, Expect> = {
  success: { ret: 0n, written: {}, regs: { r8: 64n } },
  error: { ret: FIELD_ID_INCORRECT, written: {}, regs: { r8: 0n } },
  'no-entropy': { ret: NO_ENTROPY, written: {} },
  vmfailinvalid: { ret: VMFAILINVALID, written: {}, seamFlags: 0x1n },
  vmfailvalid: { ret: SYS_INIT, written: {}, seamFlags: 0x40n },
  // _ASM_EXTABLE_FAULT: ex_handler_fault puts the trap number in RAX; .Lseamcall_trap ORs in TDX_SW_ERROR via RDI.
  ud: { ret: SEAMCALL_UD, fixup: true, written: {}, regs: { rdi: TDX_SW_ERROR } },
  gp: { ret: SEAMCALL_GP, fixup: true, written: {}, regs: { rdi: TDX_SW_ERROR } },
  'seamldr-info': { ret: 0n, written: {} },
};

/** R5 `__seamcall_ret` (ret=1): RCX, RDX, R8–R11 stored unless CF=1 or a trap. */
const R5_SEAMCALL_RET: Record<string, Expect> = {
  success: { ret: 0n, written: OUT6(0n, MAX_TDMRS, 64n, 0n, 0n, 0n) },
  error: { ret: FIELD_ID_INCORRECT, written: OUT6(0n, UNKNOWN_FIELD, 0n, 0n, 0n, 0n) },
  'no-entropy': { ret: NO_ENTROPY, written: OUT6(0n, 0n, 0n, 0n, 0n, 0n) },
  vmfailinvalid: { ret: VMFAILINVALID, written: {} },
  vmfailvalid: { ret: SYS_INIT, written: OUT6(0n, 0n, 0n, 0n, 0n, 0n) },
  ud: { ret: SEAMCALL_UD, fixup: true, written: {} },
  gp: { ret: SEAMCALL_GP, fixup: true, written: {} },
  'seamldr-info': { ret: 0n, written: OUT6(PHYS, 0n, 0n, 0n, 0n, 0n) },
};

const ARGS = DEFAULT_LAYOUT.callerBase; // the only struct, placed first in the caller area
/** After `saved ret` returns normally, the 12 registers are zeroed; RBX and R12–R15 come back from the stack, RSI is the args pointer again. */
const SAVED_RET_ZEROED = { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n, rdi: 0n, rsi: ARGS };

const R5_SEAMCALL_SAVED_RET: Record<string, Expect> = {
  success: { ret: 0n, written: { ...ZERO13, rdx: MAX_TDMRS, r8: 64n }, regs: SAVED_RET_ZEROED },
  error: { ret: FIELD_ID_INCORRECT, written: { ...ZERO13, rdx: UNKNOWN_FIELD }, regs: SAVED_RET_ZEROED },
  'no-entropy': { ret: NO_ENTROPY, written: ZERO13, regs: SAVED_RET_ZEROED },
  // .Lseamcall_fail pops the saved args pointer into RSI.
  vmfailinvalid: { ret: VMFAILINVALID, written: {}, regs: { rsi: ARGS } },
  vmfailvalid: { ret: SYS_INIT, written: ZERO13, regs: SAVED_RET_ZEROED },
  ud: { ret: SEAMCALL_UD, fixup: true, written: {}, regs: { rdi: TDX_SW_ERROR, rsi: ARGS } },
  gp: { ret: SEAMCALL_GP, fixup: true, written: {}, regs: { rdi: TDX_SW_ERROR, rsi: ARGS } },
  'seamldr-info': { ret: 0n, written: { ...ZERO13, rcx: PHYS }, regs: SAVED_RET_ZEROED },
};

/** R5 `__tdcall` (host=0, ret=0): no CF check, no exception-table entry. */
const R5_TDCALL: Record<string, Expect> = {
  success: { ret: 0n, written: {}, regs: { rcx: 48n } },
  error: { ret: OPERAND_INVALID_RDX, written: {} },
  ud: { oops: 'UD', written: {} },
  gp: { oops: 'GP', written: {} },
  'vp-info': { ret: 0n, written: {}, regs: { r9: 3n } },
  'mr-report': { ret: 0n, written: {} },
  'page-accept': { ret: 0n, written: {} },
  // args carries R12/R13, but saved=0 does not load them: the canary in R12 is not page-aligned, so MapGPA fails in R10.
  vmcall: { ret: 0n, written: {}, regs: { r10: VMCALL_INVALID_OPERAND, r12: C('r12') } },
};

const R5_TDCALL_RET: Record<string, Expect> = {
  success: { ret: 0n, written: VP_INFO },
  error: { ret: OPERAND_INVALID_RDX, written: OUT6(PHYS, PHYS + 1024n + 8n, 0n, 0n, 0n, 0n) },
  ud: { oops: 'UD', written: {} },
  gp: { oops: 'GP', written: {} },
  'vp-info': { ret: 0n, written: VP_INFO_3 },
  'mr-report': { ret: 0n, written: OUT6(PHYS, PHYS + 1024n, 0n, 0n, 0n, 0n) },
  'page-accept': { ret: 0n, written: OUT6(PHYS, 0n, 0n, 0n, 0n, 0n) },
  vmcall: { ret: 0n, written: OUT6(0xffccn, 0n, 0n, 0n, VMCALL_INVALID_OPERAND, MAP_GPA) },
};

const R5_TDCALL_SAVED_RET: Record<string, Expect> = {
  success: { ret: 0n, written: { ...ZERO13, ...VP_INFO }, regs: SAVED_RET_ZEROED },
  error: { ret: OPERAND_INVALID_RDX, written: { ...ZERO13, rcx: PHYS, rdx: PHYS + 1024n + 8n }, regs: SAVED_RET_ZEROED },
  ud: { oops: 'UD', written: {} },
  gp: { oops: 'GP', written: {} },
  'vp-info': { ret: 0n, written: { ...ZERO13, ...VP_INFO_3 }, regs: SAVED_RET_ZEROED },
  'mr-report': { ret: 0n, written: { ...ZERO13, rcx: PHYS, rdx: PHYS + 1024n }, regs: SAVED_RET_ZEROED },
  'page-accept': { ret: 0n, written: { ...ZERO13, rcx: PHYS }, regs: SAVED_RET_ZEROED },
  // All of R12/R13 reach the VMM now: MapGPA(0x40000000, 0x1000) succeeds, R10 = 0.
  vmcall: { ret: 0n, written: { ...ZERO13, rcx: 0xffccn, r11: MAP_GPA, r12: 0x40000000n, r13: 0x1000n }, regs: SAVED_RET_ZEROED },
};

const EXPECTED: Record<string, { functions: Record<string, string>; table: Table }> = {
  v3: {
    functions: { __seamcall: 'arch/x86/virt/vmx/tdx/seamcall.S', __tdx_module_call: 'arch/x86/coco/tdx/tdcall.S' },
    table: { __seamcall: R0_HOST, __tdx_module_call: R0_GUEST },
  },
  'linux-6.1': {
    functions: { __tdx_module_call: 'arch/x86/coco/tdx/tdcall.S' },
    table: { __tdx_module_call: R0_GUEST },
  },
  'linux-6.12': {
    functions: {
      __seamcall: 'arch/x86/virt/vmx/tdx/seamcall.S', __seamcall_ret: 'arch/x86/virt/vmx/tdx/seamcall.S', __seamcall_saved_ret: 'arch/x86/virt/vmx/tdx/seamcall.S',
      __tdcall: 'arch/x86/coco/tdx/tdcall.S', __tdcall_ret: 'arch/x86/coco/tdx/tdcall.S', __tdcall_saved_ret: 'arch/x86/coco/tdx/tdcall.S',
    },
    table: {
      __seamcall: R5_SEAMCALL, __seamcall_ret: R5_SEAMCALL_RET, __seamcall_saved_ret: R5_SEAMCALL_SAVED_RET,
      __tdcall: R5_TDCALL, __tdcall_ret: R5_TDCALL_RET, __tdcall_saved_ret: R5_TDCALL_SAVED_RET,
    },
  },
};


for (const [revName, spec] of Object.entries(EXPECTED)) {
  describe(`${revName}: every entry point × every built-in scenario`, () => {
    let rev: Revision;
    beforeAll(async () => {
      rev = resolveRevision(revName);
      // The leak check's register origins need Capstone.
      await loadDisassembler();
    });

    it('has exactly the entry points of the facts', () => {
      expect(Object.fromEntries(rev.functions.map((f) => [f.name, f.sourceFile]))).toEqual(spec.functions);
    });

    for (const [fnName, cases] of Object.entries(spec.table)) {
      for (const sc of BUILTIN_SCENARIOS) {
        const exp = cases[sc.name];
        it(`${fnName} × ${sc.name}`, () => {
          const fn = rev.functions.find((f) => f.name === fnName)!;
          if (!exp) {
            expect(notApplicable(sc, fn), `${sc.name} should not apply to ${fnName}`).toBeDefined();
            return;
          }
          expect(notApplicable(sc, fn)).toBeUndefined();
          const image = testImage(rev, fn.sourceFile);
          const m = new Machine(image, { observeReads: true });
          try {
            const r = runScenario(image, fn, sc, { revision: revName, machine: m });
            check(r, exp, m);
          } finally {
            m.close();
          }
        });
      }
    }
  });
}

function check(r: RunResult, exp: Expect, m: Machine): void {
  const call = r.seamCalls[0];
  expect(r.seamCalls).toHaveLength(1);
  if (exp.oops) {
    expect(r.end).toMatchObject({ kind: 'oops', vectorName: exp.oops, address: call!.address });
    expect(r.expectedOops).toBe(true);
    expect(call!.path).toBe('oops');
    expect(r.returnValue).toBeUndefined();
  } else {
    expect(r.end.kind).toBe('returned');
    expect(r.returnValue).toBe(exp.ret);
    expect(call!.path).toBe(exp.fixup ? 'exception-table' : 'resumed');
    // Callee-saved registers survive in every case.
    for (const reg of CALLEE_SAVED) expect(r.registersOut[reg], reg).toBe(C(reg));
    // The leak check passes too: a function that clears registers after the call clears every SEAM value
    // (6.12 tdxcall.S `.if \saved && \ret`); one that clears none promises only RAX (see src/run/check.ts).
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([['callee-saved', 'pass'], ['rsp', 'pass'], ['df', 'pass'], ['stack-writes', 'pass'], ['memory-writes', 'pass'], ['leak', 'pass']]);
  }
  expect(r.ok).toBe(true);
  if (exp.seamFlags !== undefined) expect(call!.rflagsOut & 0x8d5n).toBe(exp.seamFlags);
  for (const [reg, v] of Object.entries(exp.regs ?? {})) expect(r.registersOut[reg as GprName], reg).toBe(v);
  expect(r.call.unpassable).toEqual(exp.unpassable ?? []);
  const nullParam = r.call.params.find((p) => p.role === 'null');
  if (exp.written === undefined) {
    // null-out: the pointer was NULL and nothing outside the stack was written.
    expect(nullParam).toBeDefined();
    expect(r.outputs).toEqual([]);
    return;
  }
  expect(r.outputs).toHaveLength(1);
  const out = r.outputs[0]!;
  const written = Object.fromEntries(out.fields.filter((f) => f.written).map((f) => [f.name, f.value]));
  expect(written).toEqual(exp.written);
  for (const f of out.fields.filter((x) => !x.written)) {
    // Untouched: the poison of an output-only struct, or what the caller put in an in/out struct.
    expect(f.value, f.name).toBe(f.initial);
    if (out.outputOnly) expect(f.initial, f.name).toBe(POISON);
  }
  exp.check?.(r, m);
}

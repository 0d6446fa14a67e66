/**
 * The contract between the machine (which traps SEAMCALL/TDCALL) and a
 * SEAM-root handler written in TypeScript: what a handler is given (a
 * `SeamCall`) and what it answers (an `Outcome`), which the machine applies
 * to registers and RFLAGS as the CPU would.
 *
 * The built-in TDX module, P-SEAMLDR and TD-guest models are ordinary
 * handlers written against this interface; a user's handler is too.
 */
import type { GprName } from '../machine/unicorn-consts.js';

export type { GprName } from '../machine/unicorn-consts.js';

/** Which instruction trapped: SEAMCALL (`66 0F 01 CF`, host side) or TDCALL (`66 0F 01 CC`, TD guest side). */
export type SeamKind = 'seamcall' | 'tdcall';

/**
 * The CPU state that decides, before any handler is asked, whether the
 * instruction faults (Intel SDM SEAMCALL/TDCALL "Protected Mode Exceptions").
 */
export interface CpuEnv {
  /** In VMX operation (after VMXON). SEAMCALL outside VMX operation raises #UD. */
  vmx: boolean;
  /** IA32_SEAMRR_PHYS_MASK bit 11 (SEAM range register enabled). SEAMCALL with it clear raises #GP(0). */
  seamrr: boolean;
  /** Current privilege level. SEAMCALL/TDCALL at CPL > 0 raise #GP(0). */
  cpl: 0 | 1 | 2 | 3;
  /** Running inside a TD (SEAM VMX non-root). TDCALL elsewhere raises #UD. */
  inTd: boolean;
  /** Logical processor the call runs on (TDH.SYS.LP.INIT is per LP; TDG.VP.INFO reports the VCPU index). */
  lp: number;
}

export const HOST_ENV: Readonly<CpuEnv> = Object.freeze({ vmx: true, seamrr: true, cpl: 0, inTd: false, lp: 0 });
export const GUEST_ENV: Readonly<CpuEnv> = Object.freeze({ vmx: false, seamrr: false, cpl: 0, inTd: true, lp: 0 });

/** The exceptions an outcome may raise: #UD (vector 6) and #GP (vector 13). */
export type FaultVector = 'UD' | 'GP';
export const VECTOR_NUMBER: Readonly<Record<FaultVector, number>> = { UD: 6, GP: 13 };

/** Registers an outcome may write: every GPR except RSP (the module restores the caller's stack pointer). */
export type OutputReg = Exclude<GprName, 'rsp' | 'rax'>;

/**
 * What the SEAM side answers. Applied like hardware (Intel SDM Vol. 3C §30.2
 * VMsucceed/VMfailInvalid/VMfailValid; tdx-module tdx_seamret_to_vmm.S and
 * tdx_td_dispatcher.c):
 * - `return`: RAX = status, the listed registers written, all other GPRs
 *   preserved, RIP past the instruction. RFLAGS: `flags: 'vmsucceed'` (the
 *   default) clears CF PF AF ZF SF OF, as SEAMRET does for a SEAMCALL;
 *   `flags: 'preserve'` leaves them, as a TDCALL sees it — the module resumes
 *   the TD with VMRESUME and never writes the guest's RFLAGS (td_call only
 *   writes RAX, tdx_td_dispatcher.c). `serveWithEnvironment` (env.ts) marks
 *   every TDCALL return `preserve`;
 * - `vmfailinvalid`: RAX unchanged, CF = 1, PF AF ZF SF OF = 0;
 * - `vmfailvalid`: ZF = 1, CF PF AF SF OF = 0;
 * - `fault`: the instruction raises #UD/#GP at its own address;
 * - `interrupted`: "interrupted: re-execute" — RIP stays at the instruction,
 *   RFLAGS untouched, the listed registers (and RAX, when given) written, so
 *   the same TDCALL runs again. The module does this for TDG.MEM.PAGE.ACCEPT
 *   (2 MB, pending interrupt) and TDG.MR.REPORT (tdg_mem_page_accept.c,
 *   tdg_mr_report.c: `*interrupt_occurred`; td_call writes RAX only when no
 *   interrupt occurred and tdx_td_dispatcher.c skips advance_guest_rip), and
 *   after an EPT-violation TD exit: the models leave RAX = the leaf.
 * `note` is free text shown in reports ("TDH.SYS.RD MAX_TDMRS = 64").
 */
export type Outcome =
  | { kind: 'return'; rax: bigint; regs?: Partial<Record<OutputReg, bigint>>; flags?: 'vmsucceed' | 'preserve'; note?: string }
  | { kind: 'vmfailinvalid'; note?: string }
  | { kind: 'vmfailvalid'; note?: string }
  | { kind: 'fault'; vector: FaultVector; note?: string }
  | { kind: 'interrupted'; rax?: bigint; regs?: Partial<Record<OutputReg, bigint>>; note?: string };

export type OutcomeKind = Outcome['kind'];
export const OUTCOME_KINDS: readonly OutcomeKind[] = ['return', 'vmfailinvalid', 'vmfailvalid', 'fault', 'interrupted'];

/**
 * Memory the handler can reach: the machine's "physical memory" area,
 * identity-mapped, so the handler sees the addresses the caller passed.
 * Accesses outside it throw a `PhysicalAccessError`; use `contains` to check.
 */
export interface GuestMemory {
  contains(address: bigint, length: number): boolean;
  read(address: bigint, length: number): Uint8Array;
  write(address: bigint, bytes: Uint8Array): void;
  readU64(address: bigint): bigint;
  writeU64(address: bigint, value: bigint): void;
  /** The area's bounds, for messages and for handlers that allocate. */
  readonly base: bigint;
  readonly size: number;
}

/**
 * One trapped SEAMCALL/TDCALL. The object is only valid during the handler
 * call (batch mode reuses it); copy what you want to keep.
 */
export interface SeamCall {
  readonly kind: SeamKind;
  /** 0-based count of SEAM calls in this run (in a batch, across all rows). */
  readonly index: number;
  /** Address of the SEAMCALL/TDCALL instruction. */
  readonly rip: bigint;
  readonly rflags: bigint;
  /** All 16 GPRs as the instruction sees them. */
  readonly regs: Readonly<Record<GprName, bigint>>;
  readonly env: Readonly<CpuEnv>;
  readonly mem: GuestMemory;
}

export interface SeamHandler {
  /** Shown in reports, e.g. "tdx-module", "script", "my-handler.ts". */
  readonly name: string;
  handle(call: SeamCall): Outcome;
}

/** Convenience constructors for handler authors. */
export const outcome = {
  ret(rax: bigint, regs?: Partial<Record<OutputReg, bigint>>, note?: string): Outcome {
    return { kind: 'return', rax, ...(regs ? { regs } : {}), ...(note ? { note } : {}) };
  },
  vmfailinvalid(note?: string): Outcome {
    return note ? { kind: 'vmfailinvalid', note } : { kind: 'vmfailinvalid' };
  },
  vmfailvalid(note?: string): Outcome {
    return note ? { kind: 'vmfailvalid', note } : { kind: 'vmfailvalid' };
  },
  fault(vector: FaultVector, note?: string): Outcome {
    return note ? { kind: 'fault', vector, note } : { kind: 'fault', vector };
  },
  interrupted(note?: string): Outcome {
    return note ? { kind: 'interrupted', note } : { kind: 'interrupted' };
  },
};

/** Thrown by `GuestMemory` for an access outside the physical-memory area. */
export class PhysicalAccessError extends Error {
  override readonly name = 'PhysicalAccessError';
  constructor(readonly address: bigint, readonly length: number, base: bigint, size: number) {
    super(`handler accessed physical memory 0x${address.toString(16)}+${length}, outside the area 0x${base.toString(16)}..0x${(base + BigInt(size)).toString(16)}`);
  }
}

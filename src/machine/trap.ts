/**
 * The SEAMCALL/TDCALL trap: finding the instructions in an image, the
 * `SeamCall` view a handler gets, and applying its `Outcome` to the register
 * file exactly as the CPU would.
 */
import { SeamlabError } from '../errors.js';
import type { Image } from '../image/types.js';
import type { CpuEnv, GuestMemory, Outcome, SeamCall, SeamKind } from '../seam/types.js';
import { GPR_NAMES, RFLAGS, RFLAGS_STATUS, type GprName } from './unicorn-consts.js';
import { SLOT } from './register-file.js';
import { matchTdxOpcode, TDX_INSN_LENGTH } from '../support/tdx-opcodes.js';
import type { SourceMap } from '../image/source-map.js';
import { imageBytes } from '../image/bytes.js';

export const TRAP_INSN_LENGTH = BigInt(TDX_INSN_LENGTH);

export interface TrapSite {
  address: bigint;
  kind: SeamKind;
}



/**
 * Every SEAMCALL/TDCALL in the image's executable sections, found at statement
 * starts of the byte map (R0 writes them as `.byte 0x66,0x0f,0x01,0xcf`
 * statements, R5 through a cpp macro or the mnemonic), so bytes inside
 * another instruction's immediate are never mistaken for one.
 */
export function findTrapSites(image: Image, map: SourceMap): TrapSite[] {
  const sites: TrapSite[] = [];
  for (const r of map.codeRanges()) {
    if (r.size < 4 && r.kind === 'insn') continue;
    const b = imageBytes(image, r.address, TDX_INSN_LENGTH);
    if (!b || b.length < TDX_INSN_LENGTH) continue;
    const op = matchTdxOpcode(b);
    if (op === 'seamcall' || op === 'tdcall') sites.push({ address: r.address, kind: op });
  }
  return sites;
}

/** The 16 GPRs of the register file, read lazily (a handler usually looks at two or three). */
class RegsView {
  constructor(private readonly v: BigUint64Array) {}
  get rax() { return this.v[0]!; }
  get rcx() { return this.v[1]!; }
  get rdx() { return this.v[2]!; }
  get rbx() { return this.v[3]!; }
  get rsp() { return this.v[4]!; }
  get rbp() { return this.v[5]!; }
  get rsi() { return this.v[6]!; }
  get rdi() { return this.v[7]!; }
  get r8() { return this.v[8]!; }
  get r9() { return this.v[9]!; }
  get r10() { return this.v[10]!; }
  get r11() { return this.v[11]!; }
  get r12() { return this.v[12]!; }
  get r13() { return this.v[13]!; }
  get r14() { return this.v[14]!; }
  get r15() { return this.v[15]!; }
  toJSON(): Record<GprName, bigint> {
    return Object.fromEntries(GPR_NAMES.map((n, i) => [n, this.v[i]!])) as Record<GprName, bigint>;
  }
}

/** One reusable `SeamCall`, refreshed for each trap (no allocation on the hot path). */
export class TrapCall implements SeamCall {
  kind: SeamKind = 'seamcall';
  index = 0;
  rip = 0n;
  rflags = 0n;
  env: Readonly<CpuEnv>;
  readonly regs: Readonly<Record<GprName, bigint>>;

  constructor(values: BigUint64Array, env: Readonly<CpuEnv>, readonly mem: GuestMemory) {
    this.regs = new RegsView(values);
    this.env = env;
  }
}

const OUTPUT_SLOTS: Record<string, number> = Object.fromEntries(
  GPR_NAMES.filter((n) => n !== 'rsp' && n !== 'rax').map((n) => [n, SLOT[n]]),
);

function badOutcome(what: string, handler: string): SeamlabError {
  return new SeamlabError('SEAM_BAD_OUTCOME', `handler ${handler} returned an invalid outcome: ${what}`,
    "return { kind: 'return', rax: <bigint>, regs: { rcx: <bigint>, … } }, { kind: 'vmfailinvalid' }, { kind: 'vmfailvalid' }, { kind: 'fault', vector: 'UD' | 'GP' } or { kind: 'interrupted' }");
}

function writeRegs(v: BigUint64Array, regs: Partial<Record<string, bigint>> | undefined, handler: string): void {
  if (!regs) return;
  for (const name in regs) {
    const slot = OUTPUT_SLOTS[name];
    const value = (regs as Record<string, unknown>)[name];
    if (slot === undefined) throw badOutcome(`regs.${name} is not a register a SEAM call can return (RSP and RIP are restored by the module; use rax for the status)`, handler);
    if (typeof value !== 'bigint') throw badOutcome(`regs.${name} is ${typeof value}, not a bigint`, handler);
    v[slot] = value;
  }
}

/**
 * Applies a non-fault outcome to `v` (the register file of the trapping CPU):
 * RAX/outputs, RFLAGS and RIP past the 4-byte instruction — or, for
 * "interrupted: re-execute", RIP left at the instruction so it runs again.
 * Faults are the machine's job (exception table or oops). Returns false for a fault.
 */
export function applyOutcome(v: BigUint64Array, o: Outcome, handler: string): boolean {
  if (o === null || typeof o !== 'object') throw badOutcome(`${o === null ? 'null' : typeof o} instead of an object`, handler);
  switch (o.kind) {
    case 'return': {
      if (typeof o.rax !== 'bigint') throw badOutcome(`rax is ${typeof o.rax}, not a bigint`, handler);
      writeRegs(v, o.regs, handler);
      v[SLOT.rax] = o.rax;
      if (o.flags !== undefined && o.flags !== 'vmsucceed' && o.flags !== 'preserve') throw badOutcome(`flags ${JSON.stringify(o.flags)} (only 'vmsucceed' and 'preserve')`, handler);
      // VMsucceed: CF, PF, AF, ZF, SF and OF cleared. A TDCALL's return keeps the
      // TD's RFLAGS: the module resumes the TD without writing them (tdx_td_dispatcher.c td_call).
      if (o.flags !== 'preserve') v[SLOT.rflags] = v[SLOT.rflags]! & ~RFLAGS_STATUS;
      break;
    }
    case 'vmfailinvalid':
      // VMfailInvalid: CF = 1; PF, AF, ZF, SF, OF = 0; RAX unchanged.
      v[SLOT.rflags] = (v[SLOT.rflags]! & ~RFLAGS_STATUS) | RFLAGS.CF;
      break;
    case 'vmfailvalid':
      // VMfailValid: ZF = 1; CF, PF, AF, SF, OF = 0.
      v[SLOT.rflags] = (v[SLOT.rflags]! & ~RFLAGS_STATUS) | RFLAGS.ZF;
      break;
    case 'interrupted':
      // Re-execute: the module neither advances RIP nor writes RFLAGS, and writes
      // RAX only when it has a status to give (tdx_td_dispatcher.c td_call:
      // RAX only if !interrupt_occurred; advance_guest_rip skipped).
      if (o.rax !== undefined && typeof o.rax !== 'bigint') throw badOutcome(`rax is ${typeof o.rax}, not a bigint`, handler);
      writeRegs(v, o.regs, handler);
      if (o.rax !== undefined) v[SLOT.rax] = o.rax;
      return true;
    case 'fault':
      if (o.vector !== 'UD' && o.vector !== 'GP') throw badOutcome(`fault vector ${String(o.vector)} (only UD and GP)`, handler);
      return false;
    default:
      throw badOutcome(`kind ${JSON.stringify((o as { kind?: unknown })?.kind)}`, handler);
  }
  v[SLOT.rip] = v[SLOT.rip]! + TRAP_INSN_LENGTH;
  return true;
}

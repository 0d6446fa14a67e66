/**
 * Mnemonic tables the encoder needs beyond what Keystone knows: branch
 * mnemonics with their condition codes (every alias GNU as accepts), prefix
 * mnemonics, and the instructions Keystone 0.9.2 does not know at all
 * (TDX, CET, …), with their bytes from the Intel SDM / TDX module spec.
 */
import { TDX_OPCODES } from '../support/tdx-opcodes.js';

/** Condition-code nibble for each jcc/setcc/cmovcc suffix GNU as accepts (SDM Vol. 2, Table B-10). */
export const CONDITION_CODES: Readonly<Record<string, number>> = {
  o: 0x0, no: 0x1,
  b: 0x2, c: 0x2, nae: 0x2,
  ae: 0x3, nb: 0x3, nc: 0x3,
  e: 0x4, z: 0x4,
  ne: 0x5, nz: 0x5,
  be: 0x6, na: 0x6,
  a: 0x7, nbe: 0x7,
  s: 0x8, ns: 0x9,
  p: 0xa, pe: 0xa,
  np: 0xb, po: 0xb,
  l: 0xc, nge: 0xc,
  ge: 0xd, nl: 0xd,
  le: 0xe, ng: 0xe,
  g: 0xf, nle: 0xf,
};

export type BranchKind =
  /** jmp: EB rel8 / E9 rel32, relaxable. */
  | { kind: 'jmp' }
  /** jcc: 7x rel8 / 0F 8x rel32, relaxable. */
  | { kind: 'jcc'; cc: number }
  /** call: E8 rel32 only. */
  | { kind: 'call' }
  /** loop/jrcxz family: rel8 only (E0..E3); GNU as errors when out of range. */
  | { kind: 'rel8only'; opcode: number; addr32?: boolean };

/** Direct-branch mnemonics (with a `target` operand) → how they are encoded. */
export function branchKind(mnemonic: string): BranchKind | undefined {
  switch (mnemonic) {
    case 'jmp': case 'jmpq': return { kind: 'jmp' };
    case 'call': case 'callq': return { kind: 'call' };
    case 'loopne': case 'loopnz': return { kind: 'rel8only', opcode: 0xe0 };
    case 'loope': case 'loopz': return { kind: 'rel8only', opcode: 0xe1 };
    case 'loop': return { kind: 'rel8only', opcode: 0xe2 };
    case 'jrcxz': return { kind: 'rel8only', opcode: 0xe3 };
    // jecxz in 64-bit mode is jrcxz with an address-size prefix.
    case 'jecxz': return { kind: 'rel8only', opcode: 0xe3, addr32: true };
  }
  if (mnemonic.startsWith('j')) {
    const cc = CONDITION_CODES[mnemonic.slice(1)];
    if (cc !== undefined) return { kind: 'jcc', cc };
  }
  return undefined;
}

/** Mnemonics that take a branch target (so a bare expression operand is a target, not memory). */
export function takesBranchTarget(mnemonic: string): boolean {
  return branchKind(mnemonic) !== undefined;
}

/**
 * Prefixes that may be written before a mnemonic on the same statement
 * (`lock incl (%rdi)`, `rep movsb`) or alone, with their byte.
 */
export const PREFIX_BYTES: Readonly<Record<string, number>> = {
  lock: 0xf0,
  rep: 0xf3, repe: 0xf3, repz: 0xf3,
  repne: 0xf2, repnz: 0xf2,
  // CET indirect-branch tracking: notrack is the DS segment override byte (SDM Vol. 1, 18.3.2).
  notrack: 0x3e,
  // MPX/BND prefix (F2) — GNU as still accepts it.
  bnd: 0xf2,
  // xacquire/xrelease (HLE) reuse F2/F3.
  xacquire: 0xf2, xrelease: 0xf3,
  data16: 0x66, data32: 0x66, addr32: 0x67, addr16: 0x67,
  cs: 0x2e, ds: 0x3e, es: 0x26, fs: 0x64, gs: 0x65, ss: 0x36,
  wait: 0x9b,
};

/**
 * Instructions Keystone 0.9.2 does not know (or mis-encodes), encoded from
 * this table: operand-less, fixed bytes. Sources: Intel TDX module ABI spec
 * (SEAMCALL/TDCALL/SEAMRET/SEAMOPS), SDM Vol. 2 (ENDBR, WBNOINVD, PCONFIG,
 * SERIALIZE, …); every row is checked against GNU as 2.40 in
 * test/encode-table.test.ts.
 */
export const FIXED_OPCODES: Readonly<Record<string, readonly number[]>> = {
  ...TDX_OPCODES,
  endbr64: [0xf3, 0x0f, 0x1e, 0xfa],
  endbr32: [0xf3, 0x0f, 0x1e, 0xfb],
  wbnoinvd: [0xf3, 0x0f, 0x09],
  pconfig: [0x0f, 0x01, 0xc5],
  serialize: [0x0f, 0x01, 0xe8],
  encls: [0x0f, 0x01, 0xcf],
  enclu: [0x0f, 0x01, 0xd7],
  enclv: [0x0f, 0x01, 0xc0],
  vmcall: [0x0f, 0x01, 0xc1],
  vmlaunch: [0x0f, 0x01, 0xc2],
  vmresume: [0x0f, 0x01, 0xc3],
  vmxoff: [0x0f, 0x01, 0xc4],
  vmmcall: [0x0f, 0x01, 0xd9],
  vmfunc: [0x0f, 0x01, 0xd4],
  clac: [0x0f, 0x01, 0xca],
  stac: [0x0f, 0x01, 0xcb],
  swapgs: [0x0f, 0x01, 0xf8],
  rdtscp: [0x0f, 0x01, 0xf9],
  rdpkru: [0x0f, 0x01, 0xee],
  wrpkru: [0x0f, 0x01, 0xef],
  xgetbv: [0x0f, 0x01, 0xd0],
  xsetbv: [0x0f, 0x01, 0xd1],
  xend: [0x0f, 0x01, 0xd5],
  xtest: [0x0f, 0x01, 0xd6],
  monitorx: [0x0f, 0x01, 0xfa],
  mwaitx: [0x0f, 0x01, 0xfb],
  clzero: [0x0f, 0x01, 0xfc],
  saveprevssp: [0xf3, 0x0f, 0x01, 0xea],
  setssbsy: [0xf3, 0x0f, 0x01, 0xe8],
  uiret: [0xf3, 0x0f, 0x01, 0xec],
  clui: [0xf3, 0x0f, 0x01, 0xee],
  stui: [0xf3, 0x0f, 0x01, 0xef],
  testui: [0xf3, 0x0f, 0x01, 0xed],
};

/**
 * Instructions Keystone 0.9.2 does not know that take one register operand
 * encoded in ModRM.rm (mod 11, reg field = `digit`).
 */
export const REG_OPCODES: Readonly<Record<string, { prefix: readonly number[]; opcode: readonly number[]; digit: number; bits: readonly number[] }>> = {
  // RDPID r64: F3 0F C7 /7 (SDM Vol. 2B).
  rdpid: { prefix: [0xf3], opcode: [0x0f, 0xc7], digit: 7, bits: [64] },
};

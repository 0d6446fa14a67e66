/**
 * Every register a debugger shows, read from Unicorn in one call: the 16
 * GPRs, RIP, RFLAGS, the segment selectors and the FS/GS bases — what gdb's
 * x86-64 `g` packet carries before the x87/SSE state. seamlab's runs never
 * touch x87, SSE or AVX (the TDX assembly is integer-only), so front ends
 * report those as zero; nothing here pretends to have them.
 */
import { GPR_NAMES, type Regs } from '../support/registers.js';
import type { Unicorn } from './unicorn.js';
import { GPR_IDS, X86_REG } from './unicorn-consts.js';

export const SEGMENT_NAMES = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

export interface CpuState {
  gprs: Regs;
  rip: bigint;
  rflags: bigint;
  /** Selectors (Unicorn's 64-bit mode starts them at 0; the harness does not load any). */
  segments: Record<SegmentName, bigint>;
  fsBase: bigint;
  gsBase: bigint;
}

const IDS = [
  ...GPR_NAMES.map((n) => GPR_IDS[n]), X86_REG.RIP, X86_REG.RFLAGS,
  X86_REG.CS, X86_REG.SS, X86_REG.DS, X86_REG.ES, X86_REG.FS, X86_REG.GS, X86_REG.FS_BASE, X86_REG.GS_BASE,
];

export function readCpuState(uc: Unicorn): CpuState {
  const v = uc.regReadBatch(IDS);
  const gprs = {} as Regs;
  GPR_NAMES.forEach((n, i) => { gprs[n] = v[i]!; });
  const at = GPR_NAMES.length;
  return {
    gprs, rip: v[at]!, rflags: v[at + 1]!,
    segments: { cs: v[at + 2]!, ss: v[at + 3]!, ds: v[at + 4]!, es: v[at + 5]!, fs: v[at + 6]!, gs: v[at + 7]! },
    fsBase: v[at + 8]!, gsBase: v[at + 9]!,
  };
}

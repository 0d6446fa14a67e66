/**
 * All the registers a SEAMCALL/TDCALL trap needs, read and written with one
 * call into libunicorn each way.
 *
 * At 450,000 traps per second the per-trap JavaScript work is most of the
 * budget, so the register block is allocated once and JavaScript sees the
 * values through a BigUint64Array over the memory the library writes.
 */
import type { RegisterBlock, Unicorn } from './unicorn.js';
import { GPR_IDS, GPR_NAMES, X86_REG, type GprName } from './unicorn-consts.js';

/** Slot of each register in `RegisterFile.values`: the 16 GPRs in encoding order, then RFLAGS and RIP. */
export const SLOT: Readonly<Record<GprName | 'rflags' | 'rip', number>> = Object.freeze({
  ...Object.fromEntries(GPR_NAMES.map((n, i) => [n, i])) as Record<GprName, number>,
  rflags: 16,
  rip: 17,
});
export const SLOT_COUNT = 18;

/** Unicorn's id of each slot, in slot order. */
export const SLOT_IDS: readonly number[] = [...GPR_NAMES.map((n) => GPR_IDS[n]), X86_REG.RFLAGS, X86_REG.RIP];

export class RegisterFile {
  private readonly block: RegisterBlock;
  /** Current values; `read()` fills them, `write()` stores them into the CPU. */
  readonly values: BigUint64Array;

  constructor(uc: Unicorn) {
    this.block = uc.registerBlock(SLOT_IDS);
    this.values = this.block.values;
  }

  /** Reads the 16 GPRs, RFLAGS and RIP. */
  read(): void {
    this.block.read();
  }

  /** Writes the 16 GPRs, RFLAGS and RIP (a changed RIP redirects execution when called from a hook). */
  write(): void {
    this.block.write();
  }
}

/**
 * A batch's SEAM answers known in advance, encoded for the native scripted
 * traps (src/machine/native/batch-hooks.c, "scripted traps"; the layouts
 * must agree): per row, the script of outcomes its calls get in turn (the
 * last repeats) or the fault the CPU environment raises at every call. The
 * native hook applies them exactly as applyOutcome (trap.ts) and the
 * exception-table path (execution.ts) do; test/diff-native-batch.test.ts
 * checks the two give the same rows.
 *
 * Also the per-row trap state both ways of serving write (the native hook,
 * or SideBatch's JavaScript serve): SEAM calls made, oops and fixup vectors,
 * which step each recorded call got, and the registers it was given — one
 * buffer the native side keeps a pointer to.
 */
import { VECTOR_NUMBER, type Outcome } from '../seam/types.js';
import type { GprName } from '../support/registers.js';
import { SLOT } from './register-file.js';

/** Steps a row's script may have (the fuzz generator makes at most 3). */
export const MAX_SCRIPT_STEPS = 4;
const STEP_WORDS = 18;
const ROW_WORDS = 1 + (MAX_SCRIPT_STEPS + 1) * STEP_WORDS;
const KIND: Readonly<Record<Outcome['kind'], number>> = { return: 1, vmfailinvalid: 2, vmfailvalid: 3, fault: 4, interrupted: 5 };
const PRESERVE_FLAGS = 1 << 16;
const RAX_GIVEN = 1 << 17;
/** SEAM calls per row whose inputs (and answer) are recorded; a later call still counts. */
export const RECORDED_CALLS = 2;
/** `served` of a call the CPU environment answered. */
export const SERVED_BY_ENVIRONMENT = -1;

export class ScriptTable {
  /** Shared with the native side, which keeps a pointer to it: never reallocated. */
  readonly buffer: Buffer;
  private readonly q: BigUint64Array;
  private readonly u32: Uint32Array;

  constructor(readonly capacity: number) {
    this.buffer = Buffer.alloc(capacity * ROW_WORDS * 8);
    this.q = new BigUint64Array(this.buffer.buffer, this.buffer.byteOffset, capacity * ROW_WORDS);
    this.u32 = new Uint32Array(this.buffer.buffer, this.buffer.byteOffset, capacity * ROW_WORDS * 2);
  }

  /**
   * Encodes row `row`: `script` (1..MAX_SCRIPT_STEPS outcomes), or `envFault`
   * answering every call. Outcomes are applied as they say: the caller gives
   * them as the CPU applies them (src/seam/env.ts asCpuApplies).
   */
  encode(row: number, script: readonly Outcome[], envFault: Outcome | undefined): void {
    if (script.length < 1 || script.length > MAX_SCRIPT_STEPS) throw new Error(`a batch row's script has ${script.length} steps (1..${MAX_SCRIPT_STEPS})`);
    const w = row * ROW_WORDS;
    this.u32[w * 2] = script.length | (envFault ? 1 << 8 : 0);
    this.u32[w * 2 + 1] = 0;
    for (let i = 0; i < script.length; i++) this.step(w + 1 + i * STEP_WORDS, script[i]!);
    if (envFault) this.step(w + 1 + MAX_SCRIPT_STEPS * STEP_WORDS, envFault);
  }

  private step(at: number, o: Outcome): void {
    let low = KIND[o.kind];
    let mask = 0;
    switch (o.kind) {
      case 'fault':
        low |= VECTOR_NUMBER[o.vector] << 8;
        break;
      case 'return':
      case 'interrupted': {
        if (o.kind === 'return') {
          this.q[at + 1] = o.rax;
          if (o.flags === 'preserve') low |= PRESERVE_FLAGS;
        } else if (o.rax !== undefined) {
          this.q[at + 1] = o.rax;
          low |= RAX_GIVEN;
        }
        const regs: Partial<Record<GprName, bigint>> | undefined = o.regs;
        if (regs) {
          for (const r in regs) {
            const v = regs[r as GprName];
            const slot: number | undefined = SLOT[r as GprName];
            // Only the 16 GPRs (SLOT also names RFLAGS and RIP, which an outcome does not set).
            if (v === undefined || slot === undefined || slot >= 16) continue;
            mask |= 1 << slot;
            this.q[at + 2 + slot] = v;
          }
        }
        break;
      }
      default:
        break;
    }
    this.u32[at * 2] = low;
    this.u32[at * 2 + 1] = mask;
  }
}

/** The per-row trap state (layout as seamlab_traps_attach reads it). */
export class TrapState {
  readonly buffer: Buffer;
  /** SEAM calls each row made. */
  readonly calls: Int32Array;
  /** The vector of a row's oops (0: none). */
  readonly oops: Int8Array;
  /** The vector a row took through the exception table (0: none). */
  readonly fixup: Int8Array;
  /** Per row and recorded call: the script step served, or SERVED_BY_ENVIRONMENT. */
  readonly served: Int8Array;
  /** Per row and recorded call: the 16 GPRs the SEAM side was given. */
  readonly seamIn: BigUint64Array;

  constructor(readonly capacity: number) {
    const seamInAt = Math.ceil((4 * capacity + 2 * capacity + RECORDED_CALLS * capacity) / 8) * 8;
    this.buffer = Buffer.alloc(seamInAt + capacity * RECORDED_CALLS * 16 * 8);
    const ab = this.buffer.buffer;
    const o = this.buffer.byteOffset;
    this.calls = new Int32Array(ab, o, capacity);
    this.oops = new Int8Array(ab, o + 4 * capacity, capacity);
    this.fixup = new Int8Array(ab, o + 5 * capacity, capacity);
    this.served = new Int8Array(ab, o + 6 * capacity, capacity * RECORDED_CALLS);
    this.seamIn = new BigUint64Array(ab, o + seamInAt, capacity * RECORDED_CALLS * 16);
  }
}

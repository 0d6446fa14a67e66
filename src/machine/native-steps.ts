/**
 * The native step log: src/machine/native/step-recorder.c installed on a
 * machine's Unicorn engine, recording every instruction (RIP, length, the
 * registers before it) and every memory access into buffers shared with
 * JavaScript. A machine in 'recorded' mode uses it instead of JavaScript
 * per-instruction hooks and replays the buffers to its observers whenever
 * they fill and when the run ends (src/machine/execution.ts) — same events,
 * same order, at emulator speed.
 */
import koffi from 'koffi';
import type { NativeTarget } from '../support/native-build.js';
import { buildAgainstUnicorn } from './native-link.js';
import { GPR_NAMES } from '../support/registers.js';
import type { Unicorn } from './unicorn.js';
import { GPR_IDS, UC_HOOK, X86_REG } from './unicorn-consts.js';

/** The registers a step records, in this order: the 16 GPRs (encoding order), then RFLAGS. */
export const STEP_REGISTERS = [...GPR_NAMES, 'rflags'] as const;
export type StepRegister = (typeof STEP_REGISTERS)[number];
const STEP_REGISTER_IDS = Int32Array.from([...GPR_NAMES.map((n) => GPR_IDS[n]), X86_REG.RFLAGS]);
/** Words per recorded step: RIP, length, registers. */
export const STEP_WORDS = 2 + STEP_REGISTERS.length;
/** Words per recorded memory access: step | read << 63, address, size, value. */
export const ACCESS_WORDS = 4;
const READ_BIT = 1n << 63n;

export const CTL = { steps: 0, accesses: 1, total: 2, budget: 3, flags: 4, deadline: 5 } as const;
export const FLAG_FULL = 1n;
export const FLAG_BUDGET = 2n;
export const FLAG_TIME = 4n;

interface NativeLib {
  attach: (...a: unknown[]) => unknown;
  detach: (...a: unknown[]) => number;
}

let lib: NativeLib | undefined;
let unavailable: string | undefined;

/** The step recorder's build, linked against the libunicorn in use. */
export function stepRecorderTarget(libunicorn: string): NativeTarget {
  return { name: 'step-recorder', source: 'src/machine/native/step-recorder.c', kind: 'shared', cflags: ['-O2', '-Wall', '-Wextra'], link: [libunicorn] };
}

/** Builds (if needed) and loads the step recorder; undefined with the reason when it cannot. */
export function loadStepRecorder(): { ok: true } | { ok: false; reason: string } {
  if (lib) return { ok: true };
  if (unavailable !== undefined) return { ok: false, reason: unavailable };
  const b = buildAgainstUnicorn(stepRecorderTarget);
  if (!b.ok) {
    unavailable = b.reason;
    return { ok: false, reason: unavailable };
  }
  const h = koffi.load(b.path);
  lib = {
    attach: h.func('void *seamlab_rec_attach(void *uc, uint64_t *ctl, uint64_t *steps, uint64_t step_cap, uint64_t *mem, uint64_t mem_cap, const int32_t *regs, int nregs, int hook_code, int hook_mem)'),
    detach: h.func('int seamlab_rec_detach(void *uc, void *rec)'),
  };
  return { ok: true };
}

/** Buffers and control words of one attached recorder. */
export class NativeStepLog {
  /** Control words (see step-recorder.c). */
  readonly ctl: BigUint64Array;
  readonly steps: BigUint64Array;
  readonly accesses: BigUint64Array;
  private readonly buffers: Buffer[];
  private recorder: unknown;

  constructor(private readonly uc: Unicorn, readonly stepCapacity = 1 << 15, readonly accessCapacity = 1 << 17) {
    const l = lib;
    if (!l) throw new Error('loadStepRecorder() first');
    // Buffers the C side keeps pointers to: allocated outside V8's heap, kept alive by this object.
    const ctl = Buffer.alloc(8 * 8);
    const steps = Buffer.alloc(8 * STEP_WORDS * stepCapacity);
    const accesses = Buffer.alloc(8 * ACCESS_WORDS * accessCapacity);
    this.buffers = [ctl, steps, accesses];
    this.ctl = new BigUint64Array(ctl.buffer, ctl.byteOffset, 8);
    this.steps = new BigUint64Array(steps.buffer, steps.byteOffset, STEP_WORDS * stepCapacity);
    this.accesses = new BigUint64Array(accesses.buffer, accesses.byteOffset, ACCESS_WORDS * accessCapacity);
    this.recorder = l.attach(uc.enginePointer, ctl, steps, BigInt(stepCapacity), accesses, BigInt(accessCapacity),
      STEP_REGISTER_IDS, STEP_REGISTER_IDS.length, UC_HOOK.CODE, UC_HOOK.MEM_READ | UC_HOOK.MEM_WRITE);
    if (!this.recorder) throw new Error('the native step recorder could not install its hooks');
  }

  /** Empties the buffers (after they were replayed); the run's step count goes on. */
  drained(): void {
    this.ctl[CTL.steps] = 0n;
    this.ctl[CTL.accesses] = 0n;
    this.ctl[CTL.flags]! &= ~FLAG_FULL; // ctl has 8 words, every CTL index is below 8
  }

  /** Starts a new run: counts from zero, stops before instruction `budget` + 1 (0: no budget). */
  reset(budget: number): void {
    this.ctl.fill(0n);
    this.ctl[CTL.budget] = BigInt(budget);
  }

  /** Ends the run (flag FLAG_TIME) once `ms` from now have passed. process.hrtime is CLOCK_MONOTONIC, the clock the C side reads. */
  setDeadline(ms: number): void {
    this.ctl[CTL.deadline] = process.hrtime.bigint() + BigInt(Math.max(1, Math.ceil(ms * 1e6)));
  }

  get total(): number {
    return Number(this.ctl[CTL.total]);
  }

  stepRip(i: number): bigint {
    return this.steps[i * STEP_WORDS]!;
  }

  stepSize(i: number): number {
    return Number(this.steps[i * STEP_WORDS + 1]!);
  }

  /** RIP of the buffered step `back` steps before the newest one, if it is still buffered. */
  lastBufferedRip(back = 0): bigint | undefined {
    const i = Number(this.ctl[CTL.steps]) - 1 - back;
    return i >= 0 ? this.stepRip(i) : undefined;
  }

  /** The registers before buffered step `i` (STEP_REGISTERS order), a view into the buffer. */
  stepRegisters(i: number): BigUint64Array {
    return this.steps.subarray(i * STEP_WORDS + 2, (i + 1) * STEP_WORDS);
  }

  accessStep(i: number): number {
    return Number(this.accesses[i * ACCESS_WORDS]! & ~READ_BIT);
  }

  access(i: number): { step: number; read: boolean; address: bigint; size: number; value: bigint } {
    const a = this.accesses;
    const w = a[i * ACCESS_WORDS]!;
    return { step: Number(w & ~READ_BIT), read: (w & READ_BIT) !== 0n, address: a[i * ACCESS_WORDS + 1]!, size: Number(a[i * ACCESS_WORDS + 2]!), value: a[i * ACCESS_WORDS + 3]! };
  }

  detach(): void {
    if (this.recorder && lib) lib.detach(this.uc.enginePointer, this.recorder);
    this.recorder = undefined;
    this.buffers.length = 0;
  }
}

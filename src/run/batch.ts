/**
 * Batch mode: many calls of one entry point in a single emulation. The
 * driver loop in asm/batch-driver.S (assembled by seamlab) walks a table of
 * rows in caller memory, loads the six argument registers from each row,
 * calls the function and stores RAX back, so JavaScript runs only at the
 * SEAMCALL/TDCALL traps. No per-instruction or per-store hooks are installed
 * — unless observers are asked for (`observe`, e.g. a trace recorder over the
 * whole loop): then the machine runs in single mode and they see every
 * instruction.
 */
import type { Image } from '../image/types.js';
import type { DriverCode } from '../image/batch-driver.js';
import type { SysvArgReg } from '../intake/types.js';
import { PAGE_SIZE as PAGE, pageAlignUp } from '../support/memory.js';
import { Machine, type RunObserver, type StopReason } from '../machine/machine.js';
import { SLOT } from '../machine/register-file.js';
import { GPR_NAMES } from '../machine/unicorn-consts.js';
import { serveWithEnvironment } from '../seam/env.js';
import type { LogicalCall } from '../seam/scenario.js';
import type { CpuEnv, SeamHandler } from '../seam/types.js';
import { ENTRY_RFLAGS, canary, planCall, type CallPlan } from './plan.js';
import { functionAddress, type RunFunction } from './run.js';
import { DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';

/** Row layout the driver expects: RDI, RSI, RDX, RCX, R8, R9 at 0..40, RAX stored at 48. */
export const ROW_ARGS: readonly SysvArgReg[] = ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'];
export const ROW_RESULT_OFFSET = 48;
export const ROW_HEADER = 56;

export interface BatchOptions {
  rows: number;
  call: LogicalCall;
  handler: SeamHandler;
  env: CpuEnv;
  /**
   * Instruction budget per row (the whole batch gets rows × budget), enforced
   * by Unicorn's instruction counter. Absent: only the wall-clock limit
   * applies, which keeps the batch loop at full speed.
   */
  budgetPerRow?: number;
  timeLimitMs?: number;
  /**
   * Observers of every instruction of the loop, made once the machine and the
   * call's plan exist. With them the machine runs in single mode (hooks on
   * every instruction and store): far slower, for tracing a long run.
   */
  observe?: (machine: Machine, plan: CallPlan) => RunObserver[];
  /** Whether an observer will watch memory reads (they need the read hook). */
  observeReads?: boolean;
  /** How observers are fed: JavaScript hooks ('single', the default) or the native step recorder ('recorded'). */
  observeMode?: 'single' | 'recorded';
}

export interface BatchResult {
  rows: number;
  /** RAX each call returned, by row. */
  returns: BigUint64Array;
  seamCalls: number;
  elapsedMs: number;
  stop: StopReason;
  /** Time spent setting up the machine and table (not part of `elapsedMs`). */
  setupMs: number;
}

/**
 * Runs `fn` once per row with the same logical call (each row gets its own
 * copy of the argument structs). Callee-saved registers are checked once for
 * the whole loop by the driver's own pushes and pops, not per row.
 */
export function runBatch(image: Image, fn: RunFunction, driver: DriverCode, opts: BatchOptions): BatchResult {
  const t0 = performance.now();
  const entry = functionAddress(image, fn.name);
  // One row: header, then the function's structs (planned once, copied per row).
  const structBytes = fn.abi.params.reduce((n, p) => n + (p.type.kind === 'pointer' && p.type.to.kind === 'struct' ? Math.ceil(p.type.to.layout.size / 16) * 16 + 16 : 0), 0);
  const stride = ROW_HEADER + 8 + structBytes;
  const callerSize = pageAlignUp(Math.max(PAGE, (opts.rows + 1) * stride + 0x1000));
  const machine = opts.observe
    ? new Machine(image, { mode: opts.observeMode ?? 'single', driver: driver.bytes, layout: { callerSize }, observeReads: opts.observeReads === true })
    : new Machine(image, { mode: 'batch', driver: driver.bytes, layout: { callerSize } });
  // One emulation for the whole table: Unicorn's timeout thread may poll coarsely (src/machine/unicorn.ts).
  machine.uc.longRuns = true;
  try {
    // Plan a single call in the caller area, then move its structs into each row.
    const plan = planCall(machine, fn.abi, entry, opts.call);
    const template = Buffer.from(machine.caller.subarray(0, structBytes));
    const callerBase = machine.layout.callerBase;
    const tableOff = pageAlignUp(structBytes);
    const rowArgs = ROW_ARGS.map((r) => plan.params.find((p) => p.register === r));
    for (let i = 0; i < opts.rows; i++) {
      const row = tableOff + i * stride;
      const structsAt = row + ROW_HEADER + 8;
      machine.caller.set(template, structsAt);
      rowArgs.forEach((p, k) => {
        const v = !p ? 0n : p.struct ? callerBase + BigInt(structsAt) + (p.struct.address - callerBase) : p.value;
        machine.caller.writeBigUInt64LE(v, row + k * 8);
      });
    }
    // Registers: canaries, then the driver's four arguments.
    const v = machine.regs.values;
    GPR_NAMES.forEach((r, i) => { v[i] = canary(r); });
    v[SLOT.rdi] = callerBase + BigInt(tableOff);
    v[SLOT.rsi] = BigInt(opts.rows);
    v[SLOT.rdx] = entry;
    v[SLOT.rcx] = BigInt(stride);
    v[SLOT.rsp] = plan.entryRsp;
    v[SLOT.rflags] = ENTRY_RFLAGS;
    const start = machine.layout.driver + BigInt(driver.entry);
    v[SLOT.rip] = start;
    machine.regs.write();
    const setupMs = performance.now() - t0;
    const run = machine.start({
      entry: start, serve: serveWithEnvironment(opts.handler), handlerName: opts.handler.name, env: opts.env,
      budget: opts.budgetPerRow === undefined ? 0 : Math.min(Number.MAX_SAFE_INTEGER, opts.budgetPerRow * Math.max(1, opts.rows)),
      timeLimitMs: opts.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS * 10,
      ...(opts.observe ? { observers: opts.observe(machine, plan) } : {}),
    }).finish();
    const returns = new BigUint64Array(opts.rows);
    for (let i = 0; i < opts.rows; i++) returns[i] = machine.caller.readBigUInt64LE(tableOff + i * stride + ROW_RESULT_OFFSET);
    return { rows: opts.rows, returns, seamCalls: run.seamCallCount, elapsedMs: run.elapsedMs, stop: run.stop, setupMs };
  } finally {
    machine.close();
  }
}

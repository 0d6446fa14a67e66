/**
 * The native batch helpers (src/machine/native/batch-hooks.c): a watched
 * uc_emu_start whose time limit costs no polling, and a row capture hook
 * that copies the caller-visible registers into the current row of a batch
 * driver's table. Both are optional: without a C compiler a batch machine
 * uses Unicorn's own timeout and the driver stores the registers itself —
 * the same rows, more slowly (test/diff-native-batch.test.ts runs both).
 */
import koffi from 'koffi';
import type { NativeTarget } from '../support/native-build.js';
import { buildAgainstUnicorn } from './native-link.js';
import type { Unicorn } from './unicorn.js';
import { UC_HOOK } from './unicorn-consts.js';
import { SLOT_IDS } from './register-file.js';
import type { ScriptTable, TrapState } from './script-table.js';

interface NativeLib {
  start: (uc: unknown, begin: bigint, until: bigint, timeoutUs: bigint, count: bigint) => number;
  attach: (...a: unknown[]) => unknown;
  detach: (uc: unknown, capture: unknown) => number;
  trapsAttach: (...a: unknown[]) => unknown;
  trapsDetach: (uc: unknown, server: unknown) => number;
}

let lib: NativeLib | undefined;
let unavailable: string | undefined;
/** Set by tests (and SEAMLAB_NO_NATIVE_BATCH=1) to run the portable path. */
let disabled = process.env.SEAMLAB_NO_NATIVE_BATCH === '1';

export function batchHooksTarget(libunicorn: string): NativeTarget {
  return { name: 'batch-hooks', source: 'src/machine/native/batch-hooks.c', kind: 'shared', cflags: ['-O2', '-Wall', '-Wextra', '-pthread'], link: [libunicorn, '-pthread'] };
}

/** Turns the native helpers off (true) or back on for machines made from now on: the portable path, for tests. */
export function disableNativeBatch(off: boolean): void {
  disabled = off;
}

/** Builds (if needed) and loads the helpers; the reason when they cannot be used. */
export function loadBatchHooks(): { ok: true } | { ok: false; reason: string } {
  if (disabled) return { ok: false, reason: 'turned off' };
  if (lib) return { ok: true };
  if (unavailable !== undefined) return { ok: false, reason: unavailable };
  const b = buildAgainstUnicorn(batchHooksTarget);
  if (!b.ok) {
    unavailable = b.reason;
    return { ok: false, reason: unavailable };
  }
  const h = koffi.load(b.path);
  lib = {
    start: h.func('int seamlab_emu_start_watched(void *uc, uint64_t begin, uint64_t until, uint64_t timeout_us, uint64_t count)') as NativeLib['start'],
    attach: h.func('void *seamlab_capture_attach(void *uc, uint64_t at, uint8_t *host, uint64_t guest, uint64_t size, uint64_t out, const int32_t *regs, int nregs, int hook_code)'),
    detach: h.func('int seamlab_capture_detach(void *uc, void *capture)') as NativeLib['detach'],
    trapsAttach: h.func('void *seamlab_traps_attach(void *uc, const uint64_t *sites, int nsites, uint8_t *host, uint64_t guest, uint64_t table_offset, uint64_t stride, uint64_t capacity, const uint64_t *script, uint8_t *state, const uint64_t *poison, int npoison, int poison_byte, const int32_t *regs, int nregs, int hook_code)'),
    trapsDetach: h.func('int seamlab_traps_detach(void *uc, void *server)') as NativeLib['trapsDetach'],
  };
  return { ok: true };
}

/**
 * uc_emu_start with a time limit kept by a sleeping thread (no polling);
 * undefined when the helpers are not loaded or the thread could not be made
 * (the caller then uses Unicorn's timeout).
 */
export function watchedEmuStart(engine: unknown, begin: bigint, until: bigint, timeoutUs: number, count: number): number | undefined {
  if (!lib) return undefined;
  const err = lib.start(engine, begin, until, BigInt(timeoutUs), BigInt(count));
  return err < 0 ? undefined : err;
}

/** A row capture hook installed on a machine's engine (see batch-hooks.c). */
export class RowCapture {
  private capture: unknown;

  /**
   * Installs the hook at `at`: there the registers `regIds` are stored at
   * `outOffset` in the row the control block at the start of `caller` points
   * to, and the row advances by the stride. Undefined when the helpers are
   * not available.
   */
  static attach(uc: Unicorn, at: bigint, caller: Buffer, callerBase: bigint, outOffset: number, regIds: readonly number[]): RowCapture | undefined {
    if (!loadBatchHooks().ok || !lib) return undefined;
    const c = lib.attach(uc.enginePointer, at, caller, callerBase, BigInt(caller.length), BigInt(outOffset), Int32Array.from(regIds), regIds.length, UC_HOOK.CODE);
    return c ? new RowCapture(uc, c) : undefined;
  }

  private constructor(private readonly uc: Unicorn, capture: unknown) {
    this.capture = capture;
  }

  detach(): void {
    if (this.capture && lib) lib.detach(this.uc.enginePointer, this.capture);
    this.capture = undefined;
  }
}

/** A trap site as the scripted traps take it: where, and the exception-table entry a fault there takes (if any). */
export interface ScriptedSite {
  address: bigint;
  fixup?: { address: bigint; type: number };
}

/** The registers the scripted traps read and write: the 16 GPRs, RFLAGS, RIP (the register file's slots). */
const TRAP_REG_IDS = Int32Array.from(SLOT_IDS);

/**
 * Native SEAMCALL/TDCALL traps answering a batch driver's rows from a
 * ScriptTable (see batch-hooks.c). The machine must have been made without
 * its own trap hooks (`traps: 'native'`), and nothing translated yet.
 */
export class ScriptedTraps {
  private server: unknown;

  /**
   * `caller` holds the driver's control block at offset 0 and the row table
   * at `tableOffset`; `poison`: (offset in row, size) of the structs to fill
   * with `poisonByte` once a call has read its inputs. Undefined when the
   * helpers are not available.
   */
  static attach(uc: Unicorn, sites: readonly ScriptedSite[], caller: Buffer, callerBase: bigint, tableOffset: number, stride: number,
    table: ScriptTable, state: TrapState, poison: readonly (readonly [number, number])[], poisonByte: number): ScriptedTraps | undefined {
    if (!loadBatchHooks().ok || !lib) return undefined;
    if (table.capacity !== state.capacity) throw new Error('script table and trap state of different capacities');
    const siteWords = BigUint64Array.from(sites.flatMap((s) => [s.address, s.fixup?.address ?? 0n, BigInt(s.fixup?.type ?? 0)]));
    const poisonWords = BigUint64Array.from(poison.flatMap(([o, n]) => [BigInt(o), BigInt(n)]));
    const server = lib.trapsAttach(uc.enginePointer, siteWords, sites.length, caller, callerBase, BigInt(tableOffset), BigInt(stride), BigInt(table.capacity),
      table.buffer, state.buffer, poisonWords, poison.length, poisonByte, TRAP_REG_IDS, TRAP_REG_IDS.length, UC_HOOK.CODE);
    return server ? new ScriptedTraps(uc, server, [table, state]) : undefined;
  }

  private constructor(private readonly uc: Unicorn, server: unknown, private readonly keepAlive: readonly unknown[]) {
    this.server = server;
  }

  detach(): void {
    if (this.server && lib) lib.trapsDetach(this.uc.enginePointer, this.server);
    this.server = undefined;
  }
}

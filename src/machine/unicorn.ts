/**
 * A thin, typed binding to Debian's libunicorn2 (Unicorn 2.0.1) through koffi.
 *
 * Unicorn's JavaScript port is not on the npm registry we can reach, and we do
 * not vendor or build Unicorn: the system library is loaded at run time
 * (`SEAMLAB_LIBUNICORN` may name another `libunicorn.so.2`). Everything here
 * maps one-to-one onto a C entry point of `unicorn/unicorn.h`; policy (memory
 * layout, traps, budgets) lives in the machine, not here.
 */
import { readFileSync } from 'node:fs';
import koffi, { type TypeObject, type LibraryHandle } from 'koffi';
import { SeamlabError } from '../errors.js';
import {
  UC_ARCH_X86, UC_MODE_64, UC_ERR, UC_HOOK, UC_CTL_IO_WRITE, UC_CTL_TB_FLUSH,
  UC_CTL_TB_REMOVE_CACHE, ucCtl, X86_REG,
} from './unicorn-consts.js';

type Ptr = unknown;
/** A C function returning int (uc_err, except uc_version's packed version): koffi converts the arguments. */
type Fn = (...args: unknown[]) => number;

interface UnicornLib {
  path: string;
  uc_version: Fn; uc_open: Fn; uc_close: Fn; uc_strerror: (code: number) => string; uc_errno: Fn;
  uc_mem_map: Fn; uc_mem_map_ptr: Fn; uc_mem_unmap: Fn; uc_mem_protect: Fn;
  uc_mem_read: Fn; uc_mem_write: Fn; uc_mem_regions: Fn; uc_free: Fn;
  uc_reg_read: Fn; uc_reg_write: Fn; uc_reg_read_batch: Fn; uc_reg_write_batch: Fn;
  uc_emu_start: Fn; uc_emu_stop: Fn; uc_hook_add: Fn; uc_hook_del: Fn; uc_ctl: Fn;
  uc_context_alloc: Fn; uc_context_save: Fn; uc_context_restore: Fn; uc_context_free: Fn;
  protoCode: TypeObject; protoMem: TypeObject; protoInvalid: TypeObject;
  protoIntr: TypeObject;
}

let lib: UnicornLib | undefined;

/** The library names tried, in order, when SEAMLAB_LIBUNICORN is not set. */
export const LIBUNICORN_CANDIDATES = ['libunicorn.so.2', 'libunicorn.2.dylib', 'libunicorn.dylib'];

export const LIBUNICORN_INSTALL_HINTS = [
  'Debian/Ubuntu: sudo apt-get install -y libunicorn2',
  'Fedora: sudo dnf install unicorn',
  'macOS (Homebrew): brew install unicorn',
  'or point SEAMLAB_LIBUNICORN at a libunicorn.so.2',
];

/**
 * The hook callback types. koffi's type names are process-wide, and two
 * copies of this module can share a process (a test that imports both the
 * sources and the built package), so the types are made once per process.
 */
function hookPrototypes(): { protoCode: TypeObject; protoMem: TypeObject; protoInvalid: TypeObject; protoIntr: TypeObject } {
  const key = Symbol.for('seamlab.unicorn.hook-prototypes');
  const g = globalThis as unknown as Record<symbol, ReturnType<typeof hookPrototypes> | undefined>;
  return (g[key] ??= {
    protoCode: koffi.proto('void seamlab_uc_hookcode(void *uc, uint64_t address, uint32_t size, void *user)'),
    protoMem: koffi.proto('bool seamlab_uc_hookmem(void *uc, int type, uint64_t address, int size, int64_t value, void *user)'),
    protoInvalid: koffi.proto('bool seamlab_uc_hookinsn_invalid(void *uc, void *user)'),
    protoIntr: koffi.proto('void seamlab_uc_hookintr(void *uc, uint32_t intno, void *user)'),
  });
}

/** Loads libunicorn once. Throws a SeamlabError (with install hints) if it cannot. */
export function loadUnicorn(): UnicornLib {
  if (lib) return lib;
  const explicit = process.env.SEAMLAB_LIBUNICORN;
  const candidates = explicit ? [explicit] : LIBUNICORN_CANDIDATES;
  const failures: string[] = [];
  let handle: LibraryHandle | undefined;
  let path = '';
  for (const c of candidates) {
    try {
      handle = koffi.load(c);
      path = c;
      break;
    } catch (e) {
      failures.push(`${c}: ${(e as Error).message}`);
    }
  }
  if (!handle) {
    throw new SeamlabError(
      'UNICORN_MISSING',
      explicit ? `cannot load SEAMLAB_LIBUNICORN=${explicit}` : 'cannot load libunicorn.so.2 (Unicorn 2)',
      explicit ? 'point SEAMLAB_LIBUNICORN at an existing libunicorn.so.2, or unset it' : 'run scripts/setup (as root it installs libunicorn2 with apt)',
      { notes: [...failures, ...LIBUNICORN_INSTALL_HINTS] },
    );
  }
  const h = handle;
  // A library that loads but lacks Unicorn 2's entry points (another library, Unicorn 1) is the user's setting, not a bug.
  const f = (decl: string) => {
    try {
      return h.func(decl);
    } catch (e) {
      const name = /(\w+)\(/.exec(decl)?.[1] ?? decl;
      throw new SeamlabError('UNICORN_MISSING', `${path} is not Unicorn 2: it has no ${name}`,
        explicit ? 'point SEAMLAB_LIBUNICORN at a libunicorn.so.2, or unset it' : 'install libunicorn2 (scripts/setup)', { notes: [(e as Error).message, ...LIBUNICORN_INSTALL_HINTS] });
    }
  };
  const { protoCode, protoMem, protoInvalid, protoIntr } = hookPrototypes();
  lib = {
    path,
    uc_version: f('unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)'),
    uc_open: f('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: f('int uc_close(void *uc)'),
    uc_strerror: f('const char *uc_strerror(int code)'),
    uc_errno: f('int uc_errno(void *uc)'),
    uc_mem_map: f('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_map_ptr: f('int uc_mem_map_ptr(void *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)'),
    uc_mem_unmap: f('int uc_mem_unmap(void *uc, uint64_t address, size_t size)'),
    uc_mem_protect: f('int uc_mem_protect(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_read: f('int uc_mem_read(void *uc, uint64_t address, _Out_ void *bytes, size_t size)'),
    uc_mem_write: f('int uc_mem_write(void *uc, uint64_t address, const void *bytes, size_t size)'),
    uc_mem_regions: f('int uc_mem_regions(void *uc, _Out_ void **regions, _Out_ uint32_t *count)'),
    uc_free: f('int uc_free(void *mem)'),
    uc_reg_read: f('int uc_reg_read(void *uc, int regid, _Out_ void *value)'),
    uc_reg_write: f('int uc_reg_write(void *uc, int regid, const void *value)'),
    uc_reg_read_batch: f('int uc_reg_read_batch(void *uc, int *regs, void *vals, int count)'),
    uc_reg_write_batch: f('int uc_reg_write_batch(void *uc, int *regs, void *vals, int count)'),
    uc_emu_start: f('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    uc_emu_stop: f('int uc_emu_stop(void *uc)'),
    uc_hook_add: f('int uc_hook_add(void *uc, _Out_ size_t *hh, int type, void *callback, void *user, uint64_t begin, uint64_t end, ...)'),
    uc_hook_del: f('int uc_hook_del(void *uc, size_t hh)'),
    uc_ctl: f('int uc_ctl(void *uc, int control, ...)'),
    uc_context_alloc: f('int uc_context_alloc(void *uc, _Out_ void **context)'),
    uc_context_save: f('int uc_context_save(void *uc, void *context)'),
    uc_context_restore: f('int uc_context_restore(void *uc, void *context)'),
    uc_context_free: f('int uc_context_free(void *context)'),
    protoCode, protoMem, protoInvalid, protoIntr,
  };
  return lib;
}

/** An error code returned by a Unicorn API call (a bug of ours, or a bad mapping request). */
export class UnicornError extends Error {
  override readonly name = 'UnicornError';
  constructor(readonly fn: string, readonly code: number, message: string) {
    super(`${fn}: ${message} (uc_err ${code})`);
  }
}

/**
 * The file the loaded libunicorn came from (from /proc/self/maps), so native
 * code seamlab compiles links against the very library in use.
 */
export function unicornLibraryPath(): string | undefined {
  loadUnicorn();
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const m = /\s(\/\S*libunicorn[^/\s]*\.so[^/\s]*)$/.exec(line);
      if (m) return m[1];
    }
  } catch {
    // not Linux: no maps file
  }
  return undefined;
}

export function ucStrerror(code: number): string {
  return loadUnicorn().uc_strerror(code);
}

export interface UnicornVersion { major: number; minor: number; /** Packed as UC_MAKE_VERSION: major<<24 | minor<<16 | … */ packed: number }

export function unicornVersion(): UnicornVersion {
  const major = [0];
  const minor = [0];
  const packed = loadUnicorn().uc_version(major, minor);
  return { major: major[0]!, minor: minor[0]!, packed };
}

/** Formats `uc_version`'s packed value as Unicorn prints it, e.g. "2.0.1". */
export function formatUnicornVersion(v: UnicornVersion): string {
  const p = v.packed >>> 0;
  return `${(p >>> 24) & 0xff}.${(p >>> 16) & 0xff}.${(p >>> 8) & 0xff}`;
}

export interface MemRegion { begin: bigint; end: bigint; perms: number }

export type CodeHook = (address: bigint, size: number) => void;
/** Return true from an invalid-access hook to say "handled, continue". */
export type MemHook = (type: number, address: bigint, size: number, value: bigint) => boolean | void;
export type InsnInvalidHook = () => boolean;
export type IntrHook = (intno: number) => void;

export interface HookHandle { readonly id: bigint | number; readonly type: number }

/**
 * Unicorn 2 enforces uc_emu_start's timeout with a thread it creates for each
 * call, which sleeps 2 µs at a time until the emulation ends or the time is
 * up (uc.c `_timeout_fn`, `usleep(TIMEOUT_STEP)`), and joins at the end. That
 * thread wakes some 20,000 times a second: measured here, it cost a batch run
 * a third of its speed when it shared a core with the emulation (with the
 * other core busy: 133,000 context switches in a 5 s run instead of 4,300).
 * Single and recorded runs keep their time limit themselves and pass no
 * timeout (src/machine/execution.ts). On an engine marked `longRuns` (the
 * batch loop: one call that runs for seconds), the thread is created with a
 * timer slack of LONG_RUN_TIMER_SLACK_NS (Linux prctl PR_SET_TIMERSLACK,
 * inherited by the threads a thread creates), so each of its sleeps lasts
 * about that long: a few hundred wake-ups a second, the timeout late by at
 * most that much, and as much added to the join at the end of the call —
 * which is why short emulations are not marked.
 */
export const LONG_RUN_TIMER_SLACK_NS = 2_000_000;
const PR_SET_TIMERSLACK = 29;
const PR_GET_TIMERSLACK = 30;

let prctl: ((option: number, arg: bigint | number) => number) | null | undefined;

/** libc's prctl on Linux (null elsewhere, or when it cannot be loaded: then the slack stays as it is). */
function loadPrctl(): typeof prctl {
  if (prctl !== undefined) return prctl;
  prctl = null;
  if (process.platform !== 'linux') return prctl;
  for (const name of ['libc.so.6', 'libc.so']) {
    try {
      const f = koffi.load(name).func('int prctl(int option, unsigned long arg2)') as (option: number, arg: bigint | number) => number;
      prctl = f;
      break;
    } catch {
      // not this libc
    }
  }
  return prctl;
}

/** koffi hands a uint64_t callback argument over as a number, or as a signed bigint above 2^63. */
const toBig = (v: number | bigint): bigint => BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));

/** One Unicorn engine instance (x86-64). */
export class Unicorn {
  private readonly lib: UnicornLib;
  private handle: Ptr;
  private readonly callbacks: { hh: HookHandle; cb: unknown }[] = [];
  /** An exception thrown by a hook: emulation is stopped and it is rethrown from emuStart. */
  private pendingError: unknown = undefined;
  /** True while uc_emu_start runs (hooks execute inside it). */
  private running = false;
  /**
   * Emulations on this engine run long (a batch loop): when Unicorn's own
   * timeout thread is needed, it polls coarsely (see LONG_RUN_TIMER_SLACK_NS).
   */
  longRuns = false;
  /**
   * Starts a timed emulation without Unicorn's polling thread (the native
   * watched start, src/machine/native-batch.ts, set by batch machines when it
   * is built); undefined from it means "not possible, use Unicorn's timeout".
   */
  timedStart: ((engine: unknown, begin: bigint, until: bigint, timeoutUs: number, count: number) => number | undefined) | undefined;
  // Scratch buffers reused across calls (register reads are on the hot path).
  private readonly reg8 = Buffer.alloc(8);

  private constructor(lib: UnicornLib, handle: Ptr) {
    this.lib = lib;
    this.handle = handle;
  }

  static open(): Unicorn {
    const l = loadUnicorn();
    const out: Ptr[] = [null];
    const err = l.uc_open(UC_ARCH_X86, UC_MODE_64, out);
    if (err !== UC_ERR.OK) throw new UnicornError('uc_open', err, ucStrerror(err));
    return new Unicorn(l, out[0]);
  }

  /** The uc_engine pointer, for native code that installs its own hooks (src/machine/native-steps.ts). */
  get enginePointer(): unknown {
    return this.handle;
  }

  private check(fn: string, err: number): void {
    if (err !== UC_ERR.OK) throw new UnicornError(fn, err, this.lib.uc_strerror(err));
  }

  close(): void {
    if (!this.handle) return;
    for (const { cb } of this.callbacks) koffi.unregister(cb as bigint);
    this.callbacks.length = 0;
    this.check('uc_close', this.lib.uc_close(this.handle));
    this.handle = null;
  }

  // ---- memory -------------------------------------------------------------

  memMap(address: bigint, size: number, perms: number): void {
    this.check('uc_mem_map', this.lib.uc_mem_map(this.handle, address, size, perms));
  }

  /**
   * Maps host memory: the guest and JavaScript then share `backing` without
   * copies. The caller must keep `backing` alive while it is mapped.
   */
  memMapPtr(address: bigint, backing: Buffer, perms: number): void {
    this.check('uc_mem_map_ptr', this.lib.uc_mem_map_ptr(this.handle, address, backing.length, perms, backing));
  }

  memUnmap(address: bigint, size: number): void {
    this.check('uc_mem_unmap', this.lib.uc_mem_unmap(this.handle, address, size));
  }

  memProtect(address: bigint, size: number, perms: number): void {
    this.check('uc_mem_protect', this.lib.uc_mem_protect(this.handle, address, size, perms));
  }

  memRead(address: bigint, size: number): Buffer {
    const out = Buffer.alloc(size);
    this.check('uc_mem_read', this.lib.uc_mem_read(this.handle, address, out, size));
    return out;
  }

  /** Like memRead but returns undefined instead of throwing for unmapped memory. */
  tryMemRead(address: bigint, size: number): Buffer | undefined {
    const out = Buffer.alloc(size);
    return this.lib.uc_mem_read(this.handle, address, out, size) === UC_ERR.OK ? out : undefined;
  }

  memWrite(address: bigint, bytes: Uint8Array): void {
    this.check('uc_mem_write', this.lib.uc_mem_write(this.handle, address, bytes, bytes.length));
  }

  memRegions(): MemRegion[] {
    const out: Ptr[] = [null];
    const count = [0];
    this.check('uc_mem_regions', this.lib.uc_mem_regions(this.handle, out, count));
    const n = count[0]!;
    if (n === 0) return [];
    // struct uc_mem_region { uint64_t begin; uint64_t end; uint32_t perms; } -> 24 bytes each
    const view = Buffer.from(koffi.view(out[0], n * 24));
    const regions: MemRegion[] = [];
    for (let i = 0; i < n; i++) {
      regions.push({ begin: view.readBigUInt64LE(i * 24), end: view.readBigUInt64LE(i * 24 + 8), perms: view.readUInt32LE(i * 24 + 16) });
    }
    this.lib.uc_free(out[0]);
    return regions;
  }

  // ---- registers ----------------------------------------------------------

  regRead(id: number): bigint {
    this.check('uc_reg_read', this.lib.uc_reg_read(this.handle, id, this.reg8));
    return this.reg8.readBigUInt64LE(0);
  }

  regWrite(id: number, value: bigint): void {
    this.reg8.writeBigUInt64LE(BigInt.asUintN(64, value), 0);
    this.check('uc_reg_write', this.lib.uc_reg_write(this.handle, id, this.reg8));
  }

  /**
   * A fixed set of registers read and written with one call into the library
   * each way, through a BigUint64Array over native-visible memory: no
   * allocation per access (the SEAMCALL trap does this ~500,000 times/s).
   */
  registerBlock(ids: readonly number[]): RegisterBlock {
    return new RegisterBlock(this.lib, () => this.handle, ids);
  }

  /** Reads several 64-bit registers with one call into the library. */
  regReadBatch(ids: readonly number[]): bigint[] {
    const b = this.registerBlock(ids);
    b.read();
    return Array.from(b.values);
  }

  /** Writes several 64-bit registers with one call into the library. */
  regWriteBatch(ids: readonly number[], values: readonly bigint[]): void {
    const b = this.registerBlock(ids);
    values.forEach((v, i) => { b.values[i] = BigInt.asUintN(64, v); });
    b.write();
  }

  get rip(): bigint { return this.regRead(X86_REG.RIP); }
  set rip(v: bigint) { this.regWrite(X86_REG.RIP, v); }

  // ---- execution ----------------------------------------------------------

  /**
   * Runs from `begin` until `until` is reached, `count` instructions ran
   * (0 = no limit) or `timeoutUs` microseconds passed (0 = none).
   * Returns Unicorn's uc_err (UC_ERR.OK = stopped normally); a JavaScript
   * exception thrown by one of our hooks is rethrown here.
   */
  emuStart(begin: bigint, until: bigint, timeoutUs = 0, count = 0): number {
    this.pendingError = undefined;
    this.running = true;
    let err: number | undefined;
    let slack: typeof prctl = null;
    let previousSlack = 0;
    try {
      if (timeoutUs > 0 && this.timedStart) err = this.timedStart(this.handle, begin, until, timeoutUs, count);
      if (err === undefined) {
        slack = timeoutUs > 0 && this.longRuns ? loadPrctl() : null;
        previousSlack = slack ? slack(PR_GET_TIMERSLACK, 0) : 0;
        if (slack) slack(PR_SET_TIMERSLACK, LONG_RUN_TIMER_SLACK_NS);
        err = this.lib.uc_emu_start(this.handle, begin, until, BigInt(timeoutUs), count);
      }
    } finally {
      if (slack && previousSlack > 0) slack(PR_SET_TIMERSLACK, previousSlack);
      this.running = false;
    }
    if (this.pendingError !== undefined) {
      const e: unknown = this.pendingError; // whatever the hook threw, rethrown as it was
      this.pendingError = undefined;
      throw e;
    }
    return err;
  }

  emuStop(): void {
    this.check('uc_emu_stop', this.lib.uc_emu_stop(this.handle));
  }

  // ---- hooks --------------------------------------------------------------

  private addHook(type: number, proto: TypeObject, js: (...args: never[]) => unknown, begin: bigint, end: bigint, extra: unknown[] = []): HookHandle {
    const cb = koffi.register(js, koffi.pointer(proto));
    const hh = [0];
    const err = this.lib.uc_hook_add(this.handle, hh, type, cb, null, begin, end, ...extra);
    if (err !== UC_ERR.OK) {
      koffi.unregister(cb);
      this.check('uc_hook_add', err);
    }
    const handle: HookHandle = { id: hh[0]!, type };
    this.callbacks.push({ hh: handle, cb });
    return handle;
  }

  /** Wraps a hook so that an exception stops emulation and surfaces from emuStart. */
  private guard<A extends unknown[], R>(fn: (...a: A) => R, fallback: R): (...a: A) => R {
    return (...a: A) => {
      if (this.pendingError !== undefined) return fallback;
      try {
        return fn(...a);
      } catch (e) {
        this.pendingError = e;
        this.lib.uc_emu_stop(this.handle);
        return fallback;
      }
    };
  }

  /**
   * Calls `cb` before each instruction whose address is in [begin, end]
   * (begin > end means everywhere). The hook may write RIP to redirect.
   */
  hookCode(cb: CodeHook, begin = 1n, end = 0n): HookHandle {
    const g = this.guard((_uc: Ptr, address: number | bigint, size: number) => cb(toBig(address), size), undefined);
    return this.addHook(UC_HOOK.CODE, this.lib.protoCode, g, begin, end);
  }

  hookBlock(cb: CodeHook, begin = 1n, end = 0n): HookHandle {
    const g = this.guard((_uc: Ptr, address: number | bigint, size: number) => cb(toBig(address), size), undefined);
    return this.addHook(UC_HOOK.BLOCK, this.lib.protoCode, g, begin, end);
  }

  /** Memory hooks: `type` is a UC_HOOK mask of MEM_* bits. */
  hookMem(type: number, cb: MemHook, begin = 1n, end = 0n): HookHandle {
    const g = this.guard(
      (_uc: Ptr, t: number, address: number | bigint, size: number, value: number | bigint) =>
        cb(t, toBig(address), size, toBig(value)) === true,
      false,
    );
    return this.addHook(type, this.lib.protoMem, g, begin, end);
  }

  /** Called on an instruction Unicorn cannot decode; return true to continue (after moving RIP). */
  hookInsnInvalid(cb: InsnInvalidHook): HookHandle {
    const g = this.guard((_uc: Ptr) => cb(), false);
    return this.addHook(UC_HOOK.INSN_INVALID, this.lib.protoInvalid, g, 1n, 0n);
  }

  /** Interrupts and CPU exceptions (e.g. int3 → 3, #UD → 6, #GP → 13). */
  hookIntr(cb: IntrHook): HookHandle {
    const g = this.guard((_uc: Ptr, intno: number) => cb(intno), undefined);
    return this.addHook(UC_HOOK.INTR, this.lib.protoIntr, g, 1n, 0n);
  }

  hookDel(h: HookHandle): void {
    this.check('uc_hook_del', this.lib.uc_hook_del(this.handle, h.id));
    const i = this.callbacks.findIndex((c) => c.hh === h);
    if (i >= 0) {
      koffi.unregister(this.callbacks[i]!.cb as bigint);
      this.callbacks.splice(i, 1);
    }
  }

  // ---- translation cache --------------------------------------------------

  /**
   * Drops translated blocks covering [begin, end). Unicorn 2 bakes code hooks
   * into translated blocks, so a hook added after a block was translated only
   * takes effect once the block is removed.
   */
  removeCache(begin: bigint, end: bigint): void {
    this.assertStopped('removeCache');
    const ctl = ucCtl(UC_CTL_TB_REMOVE_CACHE, 2, UC_CTL_IO_WRITE);
    this.check('uc_ctl(UC_CTL_TB_REMOVE_CACHE)', this.lib.uc_ctl(this.handle, ctl, 'uint64_t', begin, 'uint64_t', end));
  }

  flushCache(): void {
    this.assertStopped('flushCache');
    const ctl = ucCtl(UC_CTL_TB_FLUSH, 0, UC_CTL_IO_WRITE);
    this.check('uc_ctl(UC_CTL_TB_FLUSH)', this.lib.uc_ctl(this.handle, ctl));
  }

  /**
   * Changing the translation cache from inside a hook crashed the process in
   * our measurements (Unicorn 2.0.1 via koffi); do it between runs only.
   */
  private assertStopped(what: string): void {
    if (this.running) throw new Error(`Unicorn.${what}() called inside a hook; stop emulation first`);
  }

  // ---- CPU context --------------------------------------------------------

  /** Saves the CPU registers (not memory) into an opaque context. */
  contextSave(): UnicornContext {
    const out: Ptr[] = [null];
    this.check('uc_context_alloc', this.lib.uc_context_alloc(this.handle, out));
    this.check('uc_context_save', this.lib.uc_context_save(this.handle, out[0]));
    return new UnicornContext(this.lib, out[0]);
  }

  contextRestore(ctx: UnicornContext): void {
    this.check('uc_context_restore', this.lib.uc_context_restore(this.handle, ctx.ptr));
  }
}

export class RegisterBlock {
  /** Register values: read() fills them from the CPU, write() stores them. Same order as the ids. */
  readonly values: BigUint64Array;
  private readonly ids: Int32Array;
  private readonly ptrs: Buffer;
  // Keeps the value memory alive: the library writes through raw pointers into it.
  private readonly backing: Buffer;

  constructor(private readonly lib: UnicornLib, private readonly handle: () => Ptr, ids: readonly number[]) {
    const n = ids.length;
    this.backing = Buffer.alloc(n * 8);
    this.values = new BigUint64Array(this.backing.buffer, this.backing.byteOffset, n);
    this.ids = Int32Array.from(ids);
    this.ptrs = Buffer.alloc(n * 8);
    const base = koffi.address(this.backing);
    for (let i = 0; i < n; i++) this.ptrs.writeBigUInt64LE(base + BigInt(i * 8), i * 8);
  }

  read(): void {
    const err = this.lib.uc_reg_read_batch(this.handle(), this.ids, this.ptrs, this.ids.length);
    if (err !== UC_ERR.OK) throw new UnicornError('uc_reg_read_batch', err, this.lib.uc_strerror(err));
  }

  /** From inside a code hook, a changed RIP redirects execution. */
  write(): void {
    const err = this.lib.uc_reg_write_batch(this.handle(), this.ids, this.ptrs, this.ids.length);
    if (err !== UC_ERR.OK) throw new UnicornError('uc_reg_write_batch', err, this.lib.uc_strerror(err));
  }
}

export class UnicornContext {
  constructor(private readonly lib: UnicornLib, public ptr: Ptr) {}
  free(): void {
    if (this.ptr) this.lib.uc_context_free(this.ptr);
    this.ptr = null;
  }
}

/**
 * The machine that runs an `Image` on Unicorn: its memory map (sections with
 * their permissions, a guarded stack, caller data, "physical memory"), the
 * SEAMCALL/TDCALL trap, CPU exceptions routed through the image's exception
 * table like the kernel's fixup_exception(), and the limits that turn a
 * runaway into a result instead of a hang.
 *
 * All hooks are installed when the machine is created, before the first
 * instruction is translated: Unicorn 2 bakes code hooks into translated
 * blocks, so a hook added later would be ignored for cached code.
 */
import type { Image } from '../image/types.js';
import { DEFAULT_LAYOUT, type MachineLayout } from './layout.js';
import { fromLittleEndian, PAGE_SIZE as PAGE, pageAlignUp } from '../support/memory.js';
import { PhysMemory } from './memory.js';
import { RegisterFile } from './register-file.js';
import { SourceMap } from '../image/source-map.js';
import { findTrapSites, TrapCall, type TrapSite } from './trap.js';
import { Unicorn } from './unicorn.js';
import { UC_HOOK, UC_HOOK_MEM_INVALID, UC_MEM, UC_PROT } from './unicorn-consts.js';
import { Execution, type ExecutionOptions } from './execution.js';
import type { MachineRun } from './run-types.js';
import { loadStepRecorder, NativeStepLog } from './native-steps.js';
import { loadBatchHooks, watchedEmuStart } from './native-batch.js';
import { SeamlabError } from '../errors.js';
import { readCpuState, type CpuState } from './cpu-state.js';
import { scanCode, type CodeScan } from './code-scan.js';

export * from './run-types.js';
export { EXCEPTION_NAMES, EX_TYPE_DEFAULT, EX_TYPE_FAULT, MAX_RECORDED_STORES, applyFixup, branchTarget, copyOutcome, exceptionCause, exceptionFixup, nonCanonicalAccessCause, nonCanonicalBranchCause, oopsEnd, seamFaultCause, snapshot, type StopCondition } from './execution.js';
export type { Regs } from '../support/registers.js';

/**
 * 'single' installs the per-instruction and memory hooks (every store is
 * recorded for the ABI checks; observers, stepping and breakpoints work);
 * 'recorded' has C hooks record every instruction and memory access
 * (src/machine/native-steps.ts) and replays them to the same observers in
 * batches — a run to the end at emulator speed, no stepping or breakpoints;
 * 'batch' installs only the traps, for speed.
 */
export type MachineMode = 'single' | 'recorded' | 'batch';

export interface MachineOptions {
  mode?: MachineMode;
  layout?: Partial<MachineLayout>;
  /** Position-independent code loaded at `layout.driver` (the batch driver). */
  driver?: Uint8Array;
  /** How many executed instructions a runaway report lists. */
  traceDepth?: number;
  /** Install the memory-read hook too (an observer will want loads). Single mode only. */
  observeReads?: boolean;
  /**
   * 'native': no JavaScript trap hooks, because the caller installs native
   * scripted traps (src/machine/native-batch.ts) at `sites` before the first
   * run. Batch mode only.
   */
  traps?: 'js' | 'native';
}

/** A run as `Machine.run` takes it (the observers come with `start`). */
export type MachineRunOptions = Omit<ExecutionOptions, 'observers'>;

interface Mapping { base: bigint; size: number; perms: number }

export class Machine {
  readonly uc: Unicorn;
  readonly regs: RegisterFile;
  readonly layout: MachineLayout;
  readonly map: SourceMap;
  readonly sites: TrapSite[];
  readonly stack: Buffer;
  readonly caller: Buffer;
  readonly phys: PhysMemory;
  readonly mode: MachineMode;
  /** The reusable SeamCall the trap hands to handlers (no allocation per trap). */
  readonly call: TrapCall;
  /** The run the hooks report to (the last one started). */
  active: Execution | undefined;
  /** The memory-read hook is installed (observers may watch loads). */
  readonly readsObserved: boolean;
  /** Recorded mode: the native recorder's buffers. */
  readonly steps: NativeStepLog | undefined;
  /** Unmodelled instructions and data-dependent branches found in the image's code (code-scan.ts). */
  readonly code: CodeScan;

  /** How many executed instructions a runaway report lists. */
  readonly traceDepth: number;
  private readonly siteByAddress: Map<bigint, TrapSite>;
  /** The JavaScript trap hooks are installed (not with native scripted traps). */
  private readonly trapHooks: boolean;
  private closed = false;

  constructor(readonly image: Image, options: MachineOptions = {}) {
    this.mode = options.mode ?? 'single';
    if (options.traps === 'native' && this.mode !== 'batch') throw new Error('native traps need a batch-mode machine');
    this.trapHooks = options.traps !== 'native';
    this.layout = { ...DEFAULT_LAYOUT, ...options.layout };
    this.traceDepth = options.traceDepth ?? 16;
    this.map = new SourceMap(image);
    this.sites = findTrapSites(image, this.map);
    this.siteByAddress = new Map(this.sites.map((s) => [s.address, s]));
    this.code = scanCode(image);
    this.uc = Unicorn.open();
    try {
      this.mapImage();
      const L = this.layout;
      this.uc.memMap(L.sentinel, PAGE, UC_PROT.READ | UC_PROT.EXEC);
      this.uc.memWrite(L.sentinel, new Uint8Array(PAGE).fill(0xcc));
      if (options.driver) {
        this.uc.memMap(L.driver, pageAlignUp(Math.max(L.driverSize, options.driver.length)), UC_PROT.READ | UC_PROT.EXEC);
        this.uc.memWrite(L.driver, options.driver);
      }
      this.stack = Buffer.alloc(pageAlignUp(L.stackSize));
      this.caller = Buffer.alloc(pageAlignUp(L.callerSize));
      const physBuf = Buffer.alloc(pageAlignUp(L.physSize));
      this.uc.memMapPtr(L.stackBase, this.stack, UC_PROT.READ | UC_PROT.WRITE);
      this.uc.memMapPtr(L.callerBase, this.caller, UC_PROT.READ | UC_PROT.WRITE);
      this.uc.memMapPtr(L.physBase, physBuf, UC_PROT.READ | UC_PROT.WRITE);
      this.phys = new PhysMemory(L.physBase, physBuf);
      this.regs = new RegisterFile(this.uc);
      this.call = new TrapCall(this.regs.values, { vmx: true, seamrr: true, cpl: 0, inTd: false, lp: 0 }, this.phys);
      this.readsObserved = (this.mode === 'single' && options.observeReads === true) || this.mode === 'recorded';
      // The native recorder goes first, so that at a SEAMCALL it has recorded the step before the trap serves it.
      this.steps = this.mode === 'recorded' ? openStepLog(this.uc) : undefined;
      this.installHooks(this.readsObserved);
      // Batch runs are timed by Unicorn (no per-instruction hook to check the clock): without its polling thread when the native helpers build.
      if (this.mode === 'batch') this.uc.timedStart = (...a) => (loadBatchHooks().ok ? watchedEmuStart(...a) : undefined);
    } catch (e) {
      this.uc.close();
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.steps?.detach();
    this.uc.close();
  }

  /** Top of the stack mapping minus the caller's frame: where the harness puts the return address. */
  get entryRsp(): bigint {
    return this.layout.stackBase + BigInt(this.stack.length - this.layout.callerFrame);
  }

  /** The SEAMCALL/TDCALL at `address`, if there is one. */
  siteAt(address: bigint): TrapSite | undefined {
    return this.siteByAddress.get(address);
  }

  /**
   * Starts a run from `opts.entry` with the registers and memory as the
   * caller set them (see src/run/plan.ts). The returned `Execution` is
   * driven by whoever started it; starting another run abandons this one.
   */
  start(opts: ExecutionOptions): Execution {
    const exec = new Execution(this, opts, this.traceDepth);
    this.active = exec;
    return exec;
  }

  /** Runs from `entry` to the end (sentinel, fault, oops, runaway …) with no pauses. */
  run(opts: MachineRunOptions): MachineRun {
    return this.start(opts).finish();
  }

  /** Every register a debugger shows (gdb's x86-64 `g` packet), read now. */
  cpuState(): CpuState {
    return readCpuState(this.uc);
  }

  /** Guest memory at `address` (any mapping), or undefined where nothing is mapped. */
  readMemory(address: bigint, length: number): Uint8Array | undefined {
    return this.uc.tryMemRead(address, length);
  }

  /** Maps the image's sections page by page with the union of their permissions. */
  private mapImage(): void {
    const pages = new Map<bigint, number>();
    for (const s of this.image.sections) {
      if (!s.flags.alloc || s.bytes.length === 0) continue;
      const perms = UC_PROT.READ | (s.flags.write ? UC_PROT.WRITE : 0) | (s.flags.exec ? UC_PROT.EXEC : 0);
      const first = s.address & ~BigInt(PAGE - 1);
      for (let p = first; p < s.address + BigInt(s.bytes.length); p += BigInt(PAGE)) pages.set(p, (pages.get(p) ?? 0) | perms);
    }
    const sorted = [...pages.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const runs: Mapping[] = [];
    for (const [p, perms] of sorted) {
      const last = runs[runs.length - 1];
      if (last && last.perms === perms && last.base + BigInt(last.size) === p) last.size += PAGE;
      else runs.push({ base: p, size: PAGE, perms });
    }
    for (const r of runs) this.uc.memMap(r.base, r.size, r.perms);
    for (const s of this.image.sections) if (s.flags.alloc && s.bytes.length > 0) this.uc.memWrite(s.address, s.bytes);
  }

  /**
   * Every hook, once, before anything is translated; each reports to the
   * active run. In single mode the per-instruction hook is installed first,
   * so it runs (and may pause) before the trap hooks of the same address.
   */
  private installHooks(observeReads: boolean): void {
    const uc = this.uc;
    if (this.mode === 'single') {
      uc.hookCode((address, size) => this.active?.onInstruction(address, size));
      uc.hookMem(UC_HOOK.MEM_WRITE, (_type, address, size, value) => {
        this.active?.onMemory('write', address, size, BigInt.asUintN(size * 8, value));
      });
      if (observeReads) {
        uc.hookMem(UC_HOOK.MEM_READ, (_type, address, size) => {
          const bytes = this.readMemory(address, size);
          this.active?.onMemory('read', address, size, bytes ? fromLittleEndian(bytes) : 0n);
        });
      }
    }
    if (this.trapHooks) {
      for (const site of this.sites) uc.hookCode((address) => this.active?.onTrap(site, address), site.address, site.address);
    }
    for (const stub of this.image.stubs) {
      if (stub.kind !== 'noreturn') continue;
      uc.hookCode(() => this.active?.onStub(stub.name), stub.address, stub.address);
    }
    // Both modes: a hook at each possible start of an instruction the machine does not model (it fires only
    // where one really starts, and then ends the run before it executes).
    for (const site of this.code.unmodelled) uc.hookCode(() => this.active?.onUnmodelled(site), site.address, site.address);
    // Single and recorded modes (every trace and debugger run): branches whose target comes from data are
    // checked for a non-canonical target before they execute, so both record what the CPU does (#GP at the
    // branch). Batch mode leaves them to Unicorn (a hook at every ret would cost it most of its speed): there
    // a branch to a non-canonical address ends the run as a fetch fault at the target.
    if (this.mode !== 'batch') for (const site of this.code.branches) uc.hookCode(() => this.active?.onBranch(site), site.address, site.address);
    uc.hookInsnInvalid(() => this.active?.onInsnInvalid() ?? false);
    uc.hookIntr((intno) => this.active?.onInterrupt(intno));
    uc.hookMem(UC_HOOK_MEM_INVALID, (type, address, size) => {
      const access = type === UC_MEM.WRITE_UNMAPPED || type === UC_MEM.WRITE_PROT ? 'write'
        : type === UC_MEM.FETCH_UNMAPPED || type === UC_MEM.FETCH_PROT ? 'fetch' : 'read';
      this.active?.onMemInvalid(access, address, size);
      return false;
    });
  }

  /** Clears the stack, caller and (unless `phys: false`, as between the calls of a sequence) physical-memory areas. */
  reset(opts: { phys?: boolean } = {}): void {
    this.stack.fill(0);
    this.caller.fill(0);
    if (opts.phys !== false) this.phys.buffer.fill(0);
  }

  /** Describes an address outside the image (sentinel, driver, data areas) for reports. */
  regionName(address: bigint): string | undefined {
    const L = this.layout;
    const inside = (base: bigint, size: number) => address >= base && address < base + BigInt(size);
    if (inside(L.sentinel, PAGE)) return 'return-address sentinel';
    if (inside(L.driver, L.driverSize)) return 'batch driver';
    if (inside(L.stackBase, this.stack.length)) return 'stack';
    if (inside(L.callerBase, this.caller.length)) return 'caller data';
    if (inside(L.physBase, this.phys.size)) return 'physical memory';
    if (inside(L.stackBase - BigInt(PAGE), PAGE) || inside(L.stackBase + BigInt(this.stack.length), PAGE)) return 'stack guard page';
    return undefined;
  }
}

/** The native step recorder on `uc`; a user error naming why when it cannot be built or loaded. */
function openStepLog(uc: Unicorn): NativeStepLog {
  const r = loadStepRecorder();
  if (!r.ok) {
    throw new SeamlabError('MACHINE_NO_NATIVE_RECORDER', `the native step recorder is not available: ${r.reason}`, 'install a C compiler (Debian: apt-get install gcc) and run seamlab setup, or record with JavaScript hooks (machine mode "single")');
  }
  return new NativeStepLog(uc);
}

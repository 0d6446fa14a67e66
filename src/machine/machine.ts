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
import type { ExtableEntry, Image } from '../image/types.js';
import type { CpuEnv, Outcome, SeamCall, SeamKind } from '../seam/types.js';
import { VECTOR_NUMBER } from '../seam/types.js';
import { DEFAULT_LAYOUT, type MachineLayout } from './layout.js';
import { PAGE_SIZE as PAGE, pageAlignUp } from '../support/memory.js';
import { PhysMemory, type MemoryWrite } from './memory.js';
import { RegisterFile, SLOT } from './register-file.js';
import { SourceMap, type AddressLocation } from '../image/source-map.js';
import { applyOutcome, findTrapSites, TrapCall, type TrapSite } from './trap.js';
import { Unicorn } from './unicorn.js';
import { GPR_NAMES, UC_ERR, UC_HOOK, UC_HOOK_MEM_INVALID, UC_MEM, UC_PROT, type GprName } from './unicorn-consts.js';

/** 'single' traces every instruction and store (for checks and reports); 'batch' only traps. */
export type MachineMode = 'single' | 'batch';

export interface MachineOptions {
  mode?: MachineMode;
  layout?: Partial<MachineLayout>;
  /** Position-independent code loaded at `layout.driver` (the batch driver). */
  driver?: Uint8Array;
  /** How many executed instructions a runaway report lists. */
  traceDepth?: number;
}

export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: 'DE', 1: 'DB', 3: 'BP', 4: 'OF', 5: 'BR', 6: 'UD', 7: 'NM', 8: 'DF', 10: 'TS', 11: 'NP', 12: 'SS', 13: 'GP', 14: 'PF', 16: 'MF', 17: 'AC', 18: 'MC', 19: 'XM',
};
export const EX_TYPE_DEFAULT = 1;
export const EX_TYPE_FAULT = 2;
const PF_VECTOR = 14;

export interface TraceEntry {
  address: bigint;
  location?: AddressLocation;
}

export interface StoreRecord {
  address: bigint;
  size: number;
  /** The instruction that stored. */
  rip: bigint;
}

export type Regs = Record<GprName, bigint>;

export type SeamPath = 'resumed' | 'exception-table' | 'oops';

export interface SeamCallRecord {
  index: number;
  kind: SeamKind;
  address: bigint;
  location?: AddressLocation;
  regsIn: Regs;
  rflagsIn: bigint;
  handler: string;
  outcome: Outcome;
  /** How execution continued: after the instruction, at an exception-table fixup, or not at all. */
  path: SeamPath;
  regsOut: Regs;
  rflagsOut: bigint;
  ripOut: bigint;
  /** Physical-memory writes the handler made. */
  memWrites: MemoryWrite[];
}

export type StopReason =
  | { kind: 'returned' }
  /** A CPU exception with no exception-table entry: the kernel would oops. */
  | { kind: 'oops'; vector: number; vectorName: string; address: bigint; location?: AddressLocation; cause: string }
  /** A wild memory access (unmapped or protected) with no exception-table entry. */
  | { kind: 'fault'; access: 'read' | 'write' | 'fetch'; address: bigint; size: number; rip: bigint; location?: AddressLocation; last?: TraceEntry }
  | { kind: 'runaway'; limit: 'instructions' | 'time'; budget: number; timeLimitMs: number; last: TraceEntry[] }
  /** A call into a kernel function that does not return (a harness stub such as __tdx_hypercall_failed). */
  | { kind: 'panic'; stub: string; caller?: TraceEntry }
  | { kind: 'handler-error'; message: string; error: unknown }
  | { kind: 'stopped'; rip: bigint; ucErr: number; location?: AddressLocation };

export interface MachineRunOptions {
  entry: bigint;
  /** Where the run ends (default: the return-address sentinel). */
  until?: bigint;
  serve: (call: SeamCall) => Outcome;
  handlerName: string;
  env: Readonly<CpuEnv>;
  /**
   * Instruction budget. Single mode counts in the trace hook; batch mode
   * passes it to Unicorn (whose counting hook costs ~15% of batch
   * throughput), and 0 there means "wall-clock limit only".
   */
  budget: number;
  timeLimitMs: number;
}

/** Stores recorded per run (single mode); a runaway loop beyond this is counted, not kept. */
export const MAX_RECORDED_STORES = 65536;

export interface MachineRun {
  stop: StopReason;
  /** Instructions executed (single mode; batch mode reports 0). */
  instructions: number;
  seamCalls: SeamCallRecord[];
  /** Number of SEAM calls served (both modes). */
  seamCallCount: number;
  /** Every store the guest made (single mode), up to MAX_RECORDED_STORES. */
  stores: StoreRecord[];
  /** Stores beyond MAX_RECORDED_STORES. */
  storesDropped: number;
  /** Exception-table fixups taken, in order. */
  fixups: { vector: number; address: bigint; fixup: bigint }[];
  elapsedMs: number;
}

interface Mapping { base: bigint; size: number; perms: number }
interface MemFault { access: 'read' | 'write' | 'fetch'; address: bigint; size: number; rip: bigint }

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

  private readonly traceDepth: number;
  private readonly ring: bigint[];
  private count = 0;
  private lastInsn = 0n;
  private stop: StopReason | undefined;
  private resumeAt: bigint | undefined;
  private memFault: MemFault | undefined;
  private budget = 0;
  private timeLimitMs = 0;
  private serve: MachineRunOptions['serve'] = () => ({ kind: 'fault', vector: 'UD' });
  private handlerName = '';
  private readonly call: TrapCall;
  private records: SeamCallRecord[] = [];
  private stores: StoreRecord[] = [];
  private storesDropped = 0;
  private fixups: MachineRun['fixups'] = [];
  private seamCallCount = 0;
  private closed = false;

  constructor(readonly image: Image, options: MachineOptions = {}) {
    this.mode = options.mode ?? 'single';
    this.layout = { ...DEFAULT_LAYOUT, ...options.layout };
    this.traceDepth = options.traceDepth ?? 16;
    this.ring = new Array<bigint>(this.traceDepth).fill(0n);
    this.map = new SourceMap(image);
    this.sites = findTrapSites(image, this.map);
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
      this.installHooks();
    } catch (e) {
      this.uc.close();
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.uc.close();
  }

  /** Top of the stack mapping minus the caller's frame: where the harness puts the return address. */
  get entryRsp(): bigint {
    return this.layout.stackBase + BigInt(this.stack.length - this.layout.callerFrame);
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

  private installHooks(): void {
    const uc = this.uc;
    if (this.mode === 'single') {
      // Counts and remembers every instruction; installed first so it runs before the trap hooks.
      uc.hookCode((address) => {
        const a = address;
        this.lastInsn = a;
        this.ring[this.count % this.traceDepth] = a;
        this.count++;
        if (this.count > this.budget && this.budget > 0 && !this.stop) {
          this.stop = { kind: 'runaway', limit: 'instructions', budget: this.budget, timeLimitMs: this.timeLimitMs, last: this.lastTrace() };
          uc.emuStop();
        }
      });
      uc.hookMem(UC_HOOK.MEM_WRITE, (_type, address, size) => {
        if (this.stores.length < MAX_RECORDED_STORES) this.stores.push({ address: address, size, rip: this.lastInsn });
        else this.storesDropped++;
      });
    }
    for (const site of this.sites) {
      uc.hookCode((address) => this.onTrap(site, address), site.address, site.address);
    }
    for (const stub of this.image.stubs) {
      if (stub.kind !== 'noreturn') continue;
      uc.hookCode(() => {
        if (this.stop) return;
        const prev = this.ring[(this.count + this.traceDepth - 2) % this.traceDepth]!;
        this.stop = { kind: 'panic', stub: stub.name, ...(this.mode === 'single' ? { caller: this.traceEntry(prev) } : {}) };
        uc.emuStop();
      }, stub.address, stub.address);
    }
    uc.hookInsnInvalid(() => {
      if (this.stop) return false;
      const rip = uc.rip;
      return this.raise(VECTOR_NUMBER.UD, rip, 'undefined opcode', true);
    });
    uc.hookIntr((intno) => {
      if (this.stop) return;
      // int3 is a trap (RIP already past it); the other exceptions Unicorn reports are faults at RIP.
      const rip = uc.rip;
      const at = intno === 3 ? rip - 1n : rip;
      this.raise(intno, at, `CPU exception #${EXCEPTION_NAMES[intno] ?? intno}`, false);
    });
    uc.hookMem(UC_HOOK_MEM_INVALID, (type, address, size) => {
      if (this.stop) return false;
      const access = type === UC_MEM.WRITE_UNMAPPED || type === UC_MEM.WRITE_PROT ? 'write'
        : type === UC_MEM.FETCH_UNMAPPED || type === UC_MEM.FETCH_PROT ? 'fetch' : 'read';
      const a = address;
      // Unicorn 2.0.1 does not sync RIP for memory hooks: in single mode the code hook knows the exact instruction.
      const rip = access === 'fetch' ? a : this.mode === 'single' ? this.lastInsn : uc.rip;
      this.memFault = { access, address: a, size, rip };
      return false;
    });
  }

  private traceEntry(address: bigint): TraceEntry {
    const location = this.map.locate(address);
    return location ? { address, location } : { address };
  }

  private lastTrace(): TraceEntry[] {
    const n = Math.min(this.count, this.traceDepth);
    const out: TraceEntry[] = [];
    for (let i = this.count - n; i < this.count; i++) out.push(this.traceEntry(this.ring[i % this.traceDepth]!));
    return out;
  }

  /**
   * A CPU exception at `address`: continue at the exception-table fixup like
   * the kernel's fixup_exception() (EX_TYPE_FAULT: ex_handler_fault sets
   * regs->ax = trapnr; EX_TYPE_DEFAULT: ex_handler_default only jumps), or
   * end the run with an oops. Returns true when execution may continue.
   * `restart` says the caller cannot redirect RIP in place and the run loop
   * must restart emulation at the fixup.
   */
  private raise(vector: number, address: bigint, cause: string, restart: boolean): boolean {
    const entry = this.fixupFor(address);
    if (entry) {
      this.takeFixup(entry, vector, address);
      if (restart) this.resumeAt = entry.fixup;
      return true;
    }
    const location = this.map.locate(address);
    const other = this.image.extable.find((e) => e.insn === address);
    const note = other ? ` (exception-table entry of type ${other.type} is not modelled)` : '';
    this.stop = {
      kind: 'oops', vector, vectorName: EXCEPTION_NAMES[vector] ?? String(vector), address,
      ...(location ? { location } : {}), cause: cause + note,
    };
    this.uc.emuStop();
    return false;
  }

  private fixupFor(address: bigint): ExtableEntry | undefined {
    return this.image.extable.find((e) => e.insn === address && (e.type === EX_TYPE_FAULT || e.type === EX_TYPE_DEFAULT));
  }

  private takeFixup(entry: ExtableEntry, vector: number, address: bigint): void {
    const v = this.regs.values;
    this.regs.read();
    if (entry.type === EX_TYPE_FAULT) v[SLOT.rax] = BigInt(vector);
    v[SLOT.rip] = entry.fixup;
    this.regs.write();
    this.fixups.push({ vector, address, fixup: entry.fixup });
  }

  private onTrap(site: TrapSite, address: bigint): void {
    if (this.stop) return;
    const rf = this.regs;
    const v = rf.values;
    rf.read();
    const call = this.call;
    call.kind = site.kind;
    call.index = this.seamCallCount++;
    call.rip = address;
    call.rflags = v[SLOT.rflags]!;
    const recording = this.mode === 'single';
    const regsIn = recording ? snapshot(v) : undefined;
    if (recording) this.phys.recorded = [];
    const outcome = this.serve(call);
    const resumed = applyOutcome(v, outcome, this.handlerName);
    let path: SeamPath = 'resumed';
    if (resumed) {
      rf.write();
    } else {
      const vector = VECTOR_NUMBER[(outcome as { vector: 'UD' | 'GP' }).vector];
      path = this.raise(vector, address, `${site.kind.toUpperCase()} raised #${EXCEPTION_NAMES[vector]} (${outcome.note ?? this.handlerName})`, false)
        ? 'exception-table' : 'oops';
    }
    if (recording) {
      if (path === 'exception-table') rf.read();
      const location = this.map.locate(address);
      this.records.push({
        index: call.index, kind: site.kind, address, ...(location ? { location } : {}),
        regsIn: regsIn!, rflagsIn: call.rflags, handler: this.handlerName, outcome: copyOutcome(outcome), path,
        regsOut: snapshot(v), rflagsOut: v[SLOT.rflags]!, ripOut: v[SLOT.rip]!,
        memWrites: this.phys.recorded ?? [],
      });
      this.phys.recorded = undefined;
    }
  }

  /**
   * Runs from `entry` (registers as the caller set them in `regs`) until the
   * sentinel is reached or the run ends otherwise. Memory areas keep what the
   * caller wrote; `reset()` clears them between runs.
   */
  run(opts: MachineRunOptions): MachineRun {
    const until = opts.until ?? this.layout.sentinel;
    this.stop = undefined;
    this.count = 0;
    this.ring.fill(0n);
    this.records = [];
    this.stores = [];
    this.storesDropped = 0;
    this.fixups = [];
    this.seamCallCount = 0;
    this.budget = opts.budget;
    this.timeLimitMs = opts.timeLimitMs;
    this.serve = opts.serve;
    this.handlerName = opts.handlerName;
    this.call.env = opts.env;
    const started = performance.now();
    let begin = opts.entry;
    for (;;) {
      const remainingMs = opts.timeLimitMs - (performance.now() - started);
      if (remainingMs <= 0) {
        this.stop = { kind: 'runaway', limit: 'time', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() };
        break;
      }
      this.resumeAt = undefined;
      this.memFault = undefined;
      let err: number;
      try {
        err = this.uc.emuStart(begin, until, Math.ceil(remainingMs * 1000), this.mode === 'batch' && opts.budget > 0 ? opts.budget : 0);
      } catch (e) {
        this.stop ??= { kind: 'handler-error', message: e instanceof Error ? e.message : String(e), error: e };
        break;
      }
      if (this.stop) break;
      if (this.resumeAt !== undefined) {
        begin = this.resumeAt;
        continue;
      }
      // Set by the memory hook during emuStart (TypeScript cannot see that).
      const f = this.memFault as MemFault | undefined;
      if (f) {
        // A page fault at an instruction with an exception-table entry continues at the fixup (trapnr 14 for EX_TYPE_FAULT).
        const entry = f.access === 'fetch' ? undefined : this.fixupFor(f.rip);
        if (entry) {
          this.takeFixup(entry, PF_VECTOR, f.rip);
          begin = entry.fixup;
          continue;
        }
        const location = this.map.locate(f.rip);
        this.stop = {
          kind: 'fault', ...f, ...(location ? { location } : {}),
          ...(f.access === 'fetch' && this.mode === 'single' && this.count > 1
            ? { last: this.traceEntry(this.ring[(this.count - 1) % this.traceDepth]!) } : {}),
        };
        break;
      }
      const rip = this.uc.rip;
      if (rip === until) {
        this.stop = { kind: 'returned' };
        break;
      }
      if (err !== UC_ERR.OK) {
        const location = this.map.locate(rip);
        this.stop = { kind: 'stopped', rip, ucErr: err, ...(location ? { location } : {}) };
        break;
      }
      // Stopped short of the sentinel without an error: Unicorn's instruction count or timeout ran out.
      const timedOut = performance.now() - started >= opts.timeLimitMs;
      this.stop = { kind: 'runaway', limit: timedOut ? 'time' : 'instructions', budget: opts.budget, timeLimitMs: opts.timeLimitMs, last: this.lastTrace() };
      break;
    }
    return {
      stop: this.stop!,
      instructions: this.count,
      seamCalls: this.records,
      seamCallCount: this.seamCallCount,
      stores: this.stores,
      storesDropped: this.storesDropped,
      fixups: this.fixups,
      elapsedMs: performance.now() - started,
    };
  }

  /** Clears the stack, caller and physical-memory areas. */
  reset(): void {
    this.stack.fill(0);
    this.caller.fill(0);
    this.phys.buffer.fill(0);
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

export function snapshot(v: BigUint64Array): Regs {
  const out = {} as Regs;
  for (let i = 0; i < 16; i++) out[GPR_NAMES[i]!] = v[i]!;
  return out;
}

function copyOutcome(o: Outcome): Outcome {
  return o.kind === 'return' && o.regs ? { ...o, regs: { ...o.regs } } : { ...o };
}

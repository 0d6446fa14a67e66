/**
 * Running a prepared scenario on the host CPU: the same memory map, memory
 * contents and registers as the Unicorn machine the run was planned on
 * (the image moved into user space, see relocate.ts), single-stepped by the
 * runner, with SEAMCALL/TDCALL served by a fresh instance of the scenario's
 * own handler and applied exactly as the machine applies it
 * (`applyOutcome`; #UD/#GP and faults through `exceptionFixup`/`applyFixup`,
 * or an oops).
 *
 * `start` sends the run and returns at once: the CPU steps while the caller
 * runs the same scenario on Unicorn; `finish` then collects the steps and
 * answers the SEAM calls. One child process serves every run on the same
 * machine (it is replaced only when the memory map changes).
 */
import { SeamlabError } from '../errors.js';
import type { Image } from '../image/types.js';
import { applyFixup, copyOutcome, exceptionFixup, snapshot, type Machine } from '../machine/machine.js';
import { PhysMemory } from '../machine/memory.js';
import { SLOT } from '../machine/register-file.js';
import { applyOutcome, TrapCall } from '../machine/trap.js';
import type { PreparedRun } from '../run/run.js';
import { serveWithEnvironment } from '../seam/env.js';
import { createHandler } from '../seam/scenario.js';
import { VECTOR_NUMBER, type Outcome, type SeamCall } from '../seam/types.js';
import { PAGE_SIZE } from '../support/memory.js';
import { ensureRunner, unsupportedHost } from './native-build.js';
import { encodeResume, encodeRun, encodeWrite, encodeZero, type Answer, type ByteRun, type RegionSpec } from './protocol.js';
import { relocationFor, type Relocation } from './relocate.js';
import { RunnerProcess } from './runner-process.js';
import type { MemorySnapshot, OracleTrace, OracleEnd, OracleStep } from './step-trace.js';

import { ORACLE_BUDGET } from './limits.js';
import type { ErrorCode } from '../error-codes.js';

export { ORACLE_BUDGET } from './limits.js';

export interface SiliconRunOptions {
  budget?: number;
  /** Compare every writable page after every step (slow; used again when a change escaped the per-step scan). */
  exactWrites?: boolean;
  /** Test knob: the runner XORs RFLAGS with `mask` right after step `step` (0-based) completes. */
  flip?: { step: number; mask: bigint };
}

const SIGTRAP = 5;
const SIGILL = 4;
const SIGBUS = 7;
const SIGFPE = 8;
const SIGSEGV = 11;
const SI_KERNEL = 0x80;
const BUS_ADRALN = 1;
const PROT_WRITE = 2;

const U64 = (v: bigint) => BigInt.asUintN(64, v);

export type SignalMeaning =
  /** SEAMCALL/TDCALL faulted: ask the SEAM side. */
  | { kind: 'seam-call' }
  /** A CPU exception at `address` (Unicorn's): exception table or oops. */
  | { kind: 'exception'; vector: number; address: bigint }
  /** A page fault; `fetch` when the instruction itself could not be fetched. */
  | { kind: 'page-fault'; fetch: boolean }
  | { kind: 'unexpected'; message: string };

/**
 * What a signal the child stopped with means, from the CPU exception Linux
 * turned into it (arch/x86/kernel/traps.c): SIGILL is #UD; SIGSEGV with
 * si_code SI_KERNEL is #GP, with SEGV_MAPERR/SEGV_ACCERR a #PF at si_addr;
 * SIGTRAP with SI_KERNEL is int3 (#BP, a trap: RIP is past it); SIGFPE is
 * #DE; SIGBUS with BUS_ADRALN is #AC. SEAMCALL and TDCALL are not
 * instructions a ring-3 process may run: #UD (SIGILL, measured on AMD EPYC
 * under a hypervisor) or #GP (SIGSEGV, elsewhere) at the trap site means the
 * SEAM call happened.
 */
export function signalMeaning(signal: number, code: number, siAddr: bigint, rip: bigint, rawRip: bigint, atTrapSite: boolean): SignalMeaning {
  if (atTrapSite && (signal === SIGILL || signal === SIGSEGV)) return { kind: 'seam-call' };
  const fetch = siAddr >= rawRip && siAddr < rawRip + 16n;
  switch (signal) {
    case SIGILL:
      return { kind: 'exception', vector: 6, address: rip };
    case SIGTRAP:
      return code === SI_KERNEL ? { kind: 'exception', vector: 3, address: U64(rip - 1n) } : { kind: 'unexpected', message: `unexpected SIGTRAP (si_code ${code}) at 0x${rip.toString(16)}` };
    case SIGFPE:
      return { kind: 'exception', vector: 0, address: rip };
    case SIGBUS:
      return code === BUS_ADRALN ? { kind: 'exception', vector: 17, address: rip } : { kind: 'page-fault', fetch };
    case SIGSEGV:
      return code === SI_KERNEL ? { kind: 'exception', vector: 13, address: rip } : { kind: 'page-fault', fetch };
    default:
      return { kind: 'unexpected', message: `signal ${signal} at 0x${rip.toString(16)}` };
  }
}

/** Can this host run the oracle? `ok`, or why not (no ptrace, wrong architecture, no compiler …). */
export function siliconAvailability(): { ok: true } | { ok: false; reason: string; code: ErrorCode } {
  const bad = unsupportedHost();
  if (bad) return { ok: false, reason: bad, code: 'ORACLE_UNSUPPORTED_HOST' };
  let session: SiliconSession | undefined;
  try {
    session = SiliconSession.open();
    return { ok: true };
  } catch (e) {
    if (e instanceof SeamlabError) return { ok: false, reason: e.message, code: e.code };
    throw e;
  } finally {
    session?.close();
  }
}

interface LoadedMap {
  regions: RegionSpec[];
  /** Writable regions, in Unicorn's (= the CPU's) addresses. */
  writable: { address: bigint; size: number }[];
}

/** A runner process and the memory map its child has. */
interface Slot {
  process: RunnerProcess;
  loaded?: LoadedMap;
}

/**
 * Runner processes kept at once: one per machine (image), so that runs on a
 * few images in any order (a fuzz campaign over every entry point of a
 * revision) never re-create a child; the least recently used goes first.
 */
export const MAX_RUNNERS = 6;

export class SiliconSession {
  private readonly slots = new Map<Machine, Slot>();
  private spare: RunnerProcess | undefined;
  private active: SiliconRun | undefined;
  /** The handler's view of physical memory, reused from run to run. */
  private physBuffer: Buffer | undefined;
  private readonly relocations = new WeakMap<Image, Relocation>();

  private constructor(private readonly binary: string, first: RunnerProcess) {
    this.spare = first;
  }

  /** Starts the runner (compiling it first if setup has not). Throws ORACLE_NO_PTRACE where ptrace is not permitted. */
  static open(binary = ensureRunner()): SiliconSession {
    const proc = RunnerProcess.start(binary);
    if (proc.hello.ptraceErrno !== 0) {
      proc.close();
      throw new SeamlabError('ORACLE_NO_PTRACE', `this host does not let seamlab single-step a child process: ${proc.hello.detail}`,
        'run where ptrace is permitted (root, or kernel.yama.ptrace_scope ≤ 1, and no seccomp filter forbidding ptrace)');
    }
    return new SiliconSession(binary, proc);
  }

  close(): void {
    this.spare?.close();
    for (const s of this.slots.values()) s.process.close();
    this.slots.clear();
  }

  /** The image's relocation, checked once per image (throws ORACLE_ABSOLUTE_REFERENCE). */
  relocation(image: Image): Relocation {
    let r = this.relocations.get(image);
    if (!r) {
      r = relocationFor(image);
      this.relocations.set(image, r);
    }
    return r;
  }

  /** The runner serving `machine`, started (or taken from the least recently used machine) if there is none. */
  private slotFor(machine: Machine): Slot {
    let slot = this.slots.get(machine);
    if (slot) {
      this.slots.delete(machine);
    } else {
      let proc = this.spare;
      this.spare = undefined;
      if (!proc && this.slots.size >= MAX_RUNNERS) {
        const [oldest, s] = this.slots.entries().next().value as [Machine, Slot];
        this.slots.delete(oldest);
        proc = s.process;
      }
      slot = { process: proc ?? RunnerProcess.start(this.binary) };
    }
    this.slots.set(machine, slot);
    return slot;
  }

  /**
   * Sends the prepared (planned, not yet executed) run to the CPU. Reads the
   * machine's memory and registers now, so the caller may run the machine
   * afterwards; `finish()` on the result collects the CPU's steps.
   */
  start(prepared: PreparedRun, opts: SiliconRunOptions = {}): SiliconRun {
    // A run abandoned half-way (its caller threw) is drained first.
    if (this.active && !this.active.done) this.active.finish();
    const { machine } = prepared;
    const reloc = this.relocation(machine.image);
    const slot = this.slotFor(machine);
    const map = this.load(slot, machine, reloc);
    const proc = slot.process;
    // Writable memory as planned: zero it, then send the pages that are not zero.
    const snapshot: MemorySnapshot[] = [];
    proc.send(encodeZero());
    for (const w of map.writable) {
      const live = liveMemory(machine, w.address, w.size);
      for (const run of nonZeroPages(live)) {
        const bytes = Uint8Array.prototype.slice.call(live, run.offset, run.offset + run.length);
        const address = w.address + BigInt(run.offset);
        snapshot.push({ address, bytes });
        proc.send(encodeWrite(address, bytes));
      }
    }
    machine.regs.read();
    const initial = machine.regs.values.slice();
    const stops = [machine.layout.sentinel, ...machine.image.stubs.filter((s) => s.kind === 'noreturn').map((s) => reloc.toSilicon(s.address))];
    const budget = opts.budget ?? ORACLE_BUDGET;
    proc.send(encodeRun({
      regs: reloc.regsToSilicon(initial.slice()), budget, exactWrites: opts.exactWrites === true,
      flipStep: opts.flip?.step ?? -1, flipMask: opts.flip?.mask ?? 0n, stops,
    }));
    proc.flush();
    this.physBuffer ??= Buffer.alloc(machine.phys.size);
    if (this.physBuffer.length !== machine.phys.size) this.physBuffer = Buffer.alloc(machine.phys.size);
    this.active = new SiliconRun(proc, prepared, reloc, initial, snapshot, this.physBuffer, () => {
      slot.loaded = undefined; // the child died: the next run on this machine starts a new one
    });
    return this.active;
  }

  /** Makes the child's memory map the machine's (image relocated); reloads only when it changed. */
  private load(slot: Slot, machine: Machine, reloc: Relocation): LoadedMap {
    const regions: RegionSpec[] = [];
    const writable: LoadedMap['writable'] = [];
    const ucRegions = machine.uc.memRegions();
    for (const r of ucRegions) {
      const size = Number(r.end - r.begin + 1n);
      const inImage = reloc.contains(r.begin);
      regions.push({ address: inImage ? U64(r.begin + reloc.delta) : r.begin, size, prot: r.perms });
      if (r.perms & PROT_WRITE) {
        if (inImage) throw new SeamlabError('ORACLE_WRITABLE_IMAGE', `${machine.image.sourceFile} has a writable section`, 'the oracle compares memory in the stack, caller and physical-memory areas only');
        writable.push({ address: r.begin, size });
      }
    }
    if (slot.loaded && JSON.stringify(slot.loaded.regions, bigintJson) === JSON.stringify(regions, bigintJson)) return slot.loaded;
    slot.loaded = undefined;
    slot.process.load(regions);
    // Read-only contents (image, sentinel) once per map.
    for (const r of ucRegions) {
      if (r.perms & PROT_WRITE) continue;
      const size = Number(r.end - r.begin + 1n);
      const bytes = machine.readMemory(r.begin, size)!;
      const at = reloc.contains(r.begin) ? U64(r.begin + reloc.delta) : r.begin;
      for (const run of nonZeroPages(bytes)) slot.process.send(encodeWrite(at + BigInt(run.offset), bytes.subarray(run.offset, run.offset + run.length)));
    }
    slot.loaded = { regions, writable };
    return slot.loaded;
  }
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString(16) : v;
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/**
 * The machine's memory at `address` without a copy where it is one of its
 * own buffers (stack, caller data, physical memory are mapped from them).
 */
function liveMemory(machine: Machine, address: bigint, size: number): Buffer {
  const L = machine.layout;
  for (const [base, buf] of [[L.stackBase, machine.stack], [L.callerBase, machine.caller], [L.physBase, machine.phys.buffer]] as const) {
    if (address >= base && address + BigInt(size) <= base + BigInt(buf.length)) return buf.subarray(Number(address - base), Number(address - base) + size);
  }
  return machine.readMemory(address, size) as Buffer;
}

/** Runs of consecutive pages of `bytes` that are not all zero. */
function nonZeroPages(bytes: Uint8Array): { offset: number; length: number }[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { offset: number; length: number }[] = [];
  for (let o = 0; o < b.length; o += PAGE_SIZE) {
    const end = Math.min(o + PAGE_SIZE, b.length);
    if (b.compare(ZERO_PAGE, 0, end - o, o, end) === 0) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === o) last.length += end - o;
    else out.push({ offset: o, length: end - o });
  }
  return out;
}

/** One run on the CPU, started; `finish` drives it to the end. */
export class SiliconRun {
  done = false;
  private readonly steps: OracleStep[] = [];
  private readonly unattributed: ByteRun[] = [];
  private prevRip: bigint;
  private end: OracleEnd | undefined;
  private readonly phys: PhysMemory;
  private readonly values = new BigUint64Array(18);
  private readonly call: TrapCall;
  private readonly serve: (call: SeamCall) => Outcome;
  private readonly handlerName: string;
  private seamIndex = 0;

  constructor(
    private readonly proc: RunnerProcess,
    private readonly prepared: PreparedRun,
    private readonly reloc: Relocation,
    private readonly initial: BigUint64Array,
    /** The writable memory before the first instruction: these runs, zero elsewhere. */
    readonly memory: MemorySnapshot[],
    physBuffer: Buffer,
    private readonly childGone: () => void,
  ) {
    const { machine, scenario, fn } = prepared;
    const c = scenario.cases[fn.kind]!;
    this.phys = new PhysMemory(machine.layout.physBase, physBuffer);
    physBuffer.fill(0);
    this.mirror(memory);
    this.call = new TrapCall(this.values, c.env, this.phys);
    // A fresh handler, as prepareRun makes one per run: the CPU's answers do not depend on the Unicorn run's.
    const handler = createHandler(c.handler);
    this.handlerName = handler.name;
    this.serve = serveWithEnvironment(handler);
    this.prevRip = reloc.toSilicon(initial[SLOT.rip]!);
  }

  /** Reads the CPU's steps to the end of the run, serving SEAM calls and faults on the way. */
  finish(): OracleTrace {
    while (!this.end) {
      const a = this.proc.read();
      this.handle(a);
    }
    this.done = true;
    return { side: 'silicon', initial: this.initial, steps: this.steps, end: this.end, relocation: this.reloc, unattributed: this.unattributed };
  }

  private handle(a: Answer): void {
    switch (a.type) {
      case 'step':
        this.mirror(a.writes);
        this.steps.push({ address: this.prevRip, regs: a.regs, writes: a.writes });
        this.prevRip = a.regs[SLOT.rip]!;
        return;
      case 'event':
        this.mirror(a.writes);
        this.unattributed.push(...a.writes);
        this.event(a);
        return;
      case 'error':
        throw new SeamlabError('ORACLE_RUNNER_ERROR', `silicon-oracle runner: ${a.message}`, 'this is a bug in seamlab; report it with the scenario');
      default:
        throw new SeamlabError('ORACLE_PROTOCOL', `silicon-oracle runner answered ${a.type} during a run`, 'this is a bug in seamlab; report it');
    }
  }

  /** Keeps the handler's view of physical memory equal to the child's. */
  private mirror(writes: ByteRun[]): void {
    for (const w of writes) if (this.phys.contains(w.address, w.bytes.length)) this.phys.buffer.set(w.bytes, Number(w.address - this.phys.base));
  }

  private event(ev: Extract<Answer, { type: 'event' }>): void {
    const m = this.prepared.machine;
    const rip = this.reloc.toUnicorn(ev.regs[SLOT.rip]!);
    switch (ev.kind) {
      case 'stop':
        if (rip === m.layout.sentinel) this.end = { kind: 'returned' };
        else this.end = { kind: 'panic', stub: m.image.stubs.find((s) => s.address === rip)?.name ?? `0x${rip.toString(16)}` };
        return;
      case 'budget':
        this.end = { kind: 'runaway' };
        return;
      case 'gone':
        this.childGone();
        this.end = { kind: 'error', message: `the CPU's child process died (signal ${ev.signal}, status ${ev.code})` };
        return;
      case 'signal':
        this.signal(ev, rip);
    }
  }

  /** The instruction at `rip` (Unicorn's address) raised `ev.signal`: what the kernel's machine would do. */
  private signal(ev: Extract<Answer, { type: 'event' }>, rip: bigint): void {
    const m = this.prepared.machine;
    const site = m.siteAt(rip);
    const meaning = signalMeaning(ev.signal, ev.code, ev.siAddr, rip, ev.regs[SLOT.rip]!, site !== undefined);
    switch (meaning.kind) {
      case 'seam-call':
        this.seamCall(ev, site!.kind, rip);
        return;
      case 'exception':
        this.raise(ev, meaning.vector, meaning.address);
        return;
      case 'page-fault':
        // As Execution does: through the exception table (not for fetches), else a wild access ends the run.
        if (!meaning.fetch && exceptionFixup(m.image, rip)) {
          this.raise(ev, 14, rip);
          return;
        }
        if (meaning.fetch) {
          // The instruction could not even be fetched: no step, as on Unicorn.
          this.end = { kind: 'fault', access: 'fetch', address: this.reloc.toUnicorn(ev.siAddr), rip };
          return;
        }
        this.stopWith(ev, { kind: 'fault', access: 'data', address: this.reloc.toUnicorn(ev.siAddr), rip });
        return;
      case 'unexpected':
        this.stopWith(ev, { kind: 'error', message: meaning.message });
    }
  }

  /** The faulting instruction is the last step. */
  private stopWith(ev: Extract<Answer, { type: 'event' }>, end: OracleEnd): void {
    this.steps.push({ address: this.prevRip, regs: ev.regs, writes: [] });
    this.end = end;
  }

  /** An exception at `address`: the exception-table fixup (and the run goes on), or an oops. */
  private raise(ev: Extract<Answer, { type: 'event' }>, vector: number, address: bigint, seam?: OracleStep['seam']): void {
    const entry = exceptionFixup(this.prepared.machine.image, address);
    if (!entry) {
      this.steps.push({ address: this.prevRip, regs: ev.regs, writes: [], ...(seam ? { seam } : {}) });
      this.end = { kind: 'oops', vector, address };
      return;
    }
    const v = this.reloc.regsToUnicorn(ev.regs.slice());
    applyFixup(v, entry, vector);
    this.resume(this.reloc.regsToSilicon(v), { exception: { vector, fixup: entry.fixup }, ...(seam ? { seam } : {}) });
  }

  /** Records the step that ends at `regs` and lets the CPU continue from there. */
  private resume(regs: BigUint64Array, extra: Pick<OracleStep, 'seam' | 'exception'>): void {
    this.steps.push({ address: this.prevRip, regs, writes: [], ...extra });
    this.prevRip = regs[SLOT.rip]!;
    this.proc.send(encodeResume(regs));
  }

  /** SEAMCALL/TDCALL faulted in ring 3: ask the scenario's handler and apply its outcome as the machine does. */
  private seamCall(ev: Extract<Answer, { type: 'event' }>, kind: 'seamcall' | 'tdcall', rip: bigint): void {
    const v = this.values;
    v.set(this.reloc.regsToUnicorn(ev.regs.slice()));
    // The fault set RF in the CPU's RFLAGS; the SEAM side sees the flags the instruction started with.
    v[SLOT.rflags] = v[SLOT.rflags]! & ~(1n << 16n);
    const call = this.call;
    call.kind = kind;
    call.index = this.seamIndex++;
    call.rip = rip;
    call.rflags = v[SLOT.rflags]!;
    const regsIn = snapshot(v);
    this.phys.recorded = [];
    let outcome: Outcome;
    let resumed: boolean;
    try {
      outcome = this.serve(call);
      resumed = applyOutcome(v, outcome, this.handlerName);
    } catch (e) {
      this.phys.recorded = undefined;
      this.stopWith(ev, { kind: 'error', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    const written = this.phys.recorded;
    this.phys.recorded = undefined;
    // In the order the handler wrote them, each as written (the last write of a byte is what memory holds).
    const writes: ByteRun[] = written.map((w) => ({ address: w.address, bytes: w.bytes }));
    for (const w of writes) this.proc.send(encodeWrite(w.address, w.bytes));
    const served = { index: call.index, regsIn, rflagsIn: call.rflags, handler: this.handlerName, answer: copyOutcome(outcome) };
    if (resumed) {
      this.resume(this.reloc.regsToSilicon(v.slice()), { seam: { kind, outcome: outcome.kind, path: 'resumed', writes, served } });
      return;
    }
    const vector = VECTOR_NUMBER[(outcome as { vector: 'UD' | 'GP' }).vector];
    const path = exceptionFixup(this.prepared.machine.image, rip) ? 'exception-table' : 'oops';
    this.raise(ev, vector, rip, { kind, outcome: outcome.kind, path, writes, served });
  }
}

/**
 * The debugger core: one run of an entry point under a scenario, driven
 * forwards and backwards, shared by the terminal REPL, the DAP adapter and
 * the GDB remote stub (the contract is DEBUG-CORE-API.md).
 *
 * Forwards it drives the machine's run control (src/machine/execution.ts):
 * breakpoints are the execution's persistent pause addresses, source-line
 * steps are `runUntil` to the addresses of every other line, watchpoints are
 * an observer (watch.ts). Backwards it replays: handlers are created fresh
 * per run and nothing else varies, so preparing the run again and stepping
 * to position N−1 gives exactly the state forward stepping had there. The
 * image and the machine are reused; user edits (registers, memory) are
 * logged with their position and replayed with the run. The addresses
 * executed so far (the trail) say where earlier lines and breakpoint hits
 * were; a second replay in 'scan' mode finds earlier watchpoint hits.
 *
 * Lines are statements' (file, line, expansion stack) identities (lines.ts).
 * As gdb does for inlined functions, a stop on the first instruction of a
 * macro entered from outside is shown at the invocation line
 * (`hiddenFrames`): `next` steps over the whole invocation, `step` enters it.
 */
import { loadDisassembler, type Disassembler } from '../encode/capstone.js';
import { SeamlabError } from '../errors.js';
import { buildImage } from '../image/build.js';
import type { Listing } from '../image/listing.js';
import type { SourceMap } from '../image/source-map.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import type { CpuState } from '../machine/cpu-state.js';
import { Machine, type RunObserver, type RunStop, type SeamCallRecord, type StopCondition } from '../machine/machine.js';
import { GPR_IDS, X86_REG } from '../machine/unicorn-consts.js';
import { prepareRun, type PreparedRun } from '../run/run.js';
import type { Scenario } from '../seam/scenario.js';
import { hexU64 } from '../support/format.js';
import { REGISTER_VIEWS, type RegisterView } from '../support/registers.js';
import { fromLittleEndian, toLittleEndian } from '../support/memory.js';
import type { GasFrame, SourceLocation } from '../support/source-location.js';
import { locationAt } from '../support/source-location.js';
import { resolveBreakpoint } from './breakpoints.js';
import { CodeIndex } from './disassembly.js';
import { evaluateExpression, typeSize, type ExprContext, type ExprValue } from './expression.js';
import { addressKey, codeStatements, insideExpansion, lineKeyAtDepth, stackKey, type CodeStatement } from './lines.js';
import type { Breakpoint, BreakpointSpec, DebugTarget, Frame, InstructionView, ParamView, StopEvent, StopReason, WatchHit, Watchpoint, WatchSpec } from './types.js';
import { WatchMonitor, type ActiveWatch } from './watch.js';

type Edit = { position: number; kind: 'register'; id: number; value: bigint } | { position: number; kind: 'memory'; address: bigint; bytes: Uint8Array };

/** A place a reverse operation may stop, found in the trail or by a scan. */
interface Candidate {
  position: number;
  reason: StopReason;
  breakpointIds?: number[];
  watch?: WatchHit;
}

function registerId(base: RegisterView['base']): number {
  return base === 'rip' ? X86_REG.RIP : base === 'rflags' ? X86_REG.RFLAGS : GPR_IDS[base];
}

export class Debugger {
  readonly map: SourceMap;
  readonly image: Image;
  readonly listing: Listing;
  readonly fn: EntryFunction;
  readonly revision: Revision;
  readonly scenario: Scenario;
  readonly profile: string;
  /** Catch exception-table fixups (gdb `catch`): stop where execution continues after a fault. */
  stopOnFixup = false;

  private readonly machine: Machine;
  private readonly code: CodeIndex;
  private readonly statements: CodeStatement[];
  private readonly statementAt: Map<bigint, CodeStatement>;
  private readonly expansionEntries = new Map<string, bigint>();
  private prepared!: PreparedRun;
  private readonly trail: bigint[] = [];
  private readonly monitor = new WatchMonitor();
  private readonly bps = new Map<number, Breakpoint>();
  private readonly bpHidden = new Map<number, Map<bigint, number>>();
  private nextId = 1;
  private edits: Edit[] = [];
  private imageDirty = false;
  private last!: StopEvent;
  private hidden = 0;
  private scanning = false;
  private readonly scanFixups: number[] = [];

  /** Builds the function's image, plans the scenario's call and stops at the entry (position 0). */
  static async open(target: DebugTarget): Promise<Debugger> {
    const fn = target.revision.functions.find((f) => f.name === target.fn);
    if (!fn) {
      throw new SeamlabError('DEBUG_UNKNOWN_FUNCTION', `${target.revision.name} has no TDX entry point named ${target.fn}`,
        `pick one of ${target.revision.functions.map((f) => f.name).join(', ')}`);
    }
    const profile = target.profile ?? 'default';
    const built = buildImage(target.revision.files, fn.sourceFile, { profile });
    return new Debugger(target, fn, built.image, built.listing, await loadDisassembler());
  }

  private constructor(private readonly target: DebugTarget, fn: EntryFunction, image: Image, listing: Listing, disasm: Disassembler) {
    this.fn = fn;
    this.revision = target.revision;
    this.scenario = target.scenario;
    this.profile = target.profile ?? 'default';
    this.image = image;
    this.listing = listing;
    this.machine = new Machine(image, { observeReads: true });
    this.map = this.machine.map;
    try {
      this.code = new CodeIndex(image, this.map, disasm);
      this.statements = codeStatements(this.map);
      this.statementAt = new Map(this.statements.map((s) => [s.address, s]));
      this.startRun();
      this.last = this.entryStop();
    } catch (e) {
      this.machine.close();
      throw e;
    }
  }

  close(): void {
    this.prepared.close();
    this.machine.close();
  }

  // ---- the run -------------------------------------------------------------------

  /** Instructions executed so far. */
  get position(): number {
    return this.prepared.execution.instructions;
  }

  /** The run has ended (returned, oopsed, faulted …): only reverse operations and `restart` move it. */
  get ended(): boolean {
    return this.prepared.execution.ended !== undefined;
  }

  /** The last stop. */
  stopEvent(): StopEvent {
    return this.last;
  }

  private startRun(): void {
    this.prepared?.close();
    const trail = this.trail;
    const recorder: RunObserver = {
      instruction: (step, address) => {
        trail[step] = address;
      },
      fixup: () => {
        if (this.scanning) this.scanFixups.push(this.prepared.execution.instructions);
      },
    };
    this.monitor.mode = 'off';
    this.prepared = prepareRun(this.image, this.fn, this.target.scenario, {
      revision: this.revision.name, profile: this.profile, machine: this.machine, observers: [recorder, this.monitor],
      ...(this.target.budget !== undefined ? { budget: this.target.budget } : {}),
      ...(this.target.timeLimitMs !== undefined ? { timeLimitMs: this.target.timeLimitMs } : {}),
    });
    if (this.imageDirty) {
      for (const s of this.image.sections) if (s.flags.alloc && s.bytes.length) this.machine.uc.memWrite(s.address, s.bytes);
      this.machine.uc.flushCache();
      this.imageDirty = false;
    }
    trail.length = 0;
  }

  /**
   * Prepares the run again and steps to `target`, applying the logged edits
   * at their positions (edits after `target` are forgotten). With `scan`,
   * the watch monitor and the fixup recorder note where they would have
   * stopped.
   */
  private replayTo(target: number, scan = false): void {
    this.edits = this.edits.filter((e) => e.position <= target);
    this.startRun();
    const exec = this.prepared.execution;
    this.scanning = scan;
    this.scanFixups.length = 0;
    try {
      this.applyEdits(0);
      if (scan) this.monitor.beginScan();
      const editAt = new Set(this.edits.map((e) => e.position).filter((p) => p > 0));
      for (const p of [...new Set([...editAt, target])].sort((a, b) => a - b)) {
        if (p > exec.instructions && !exec.ended) exec.step(p - exec.instructions);
        if (exec.instructions !== p) break;
        if (editAt.has(p)) {
          this.applyEdits(p);
          if (scan) this.monitor.resync();
        }
      }
      if (scan) this.monitor.finishScan(exec.instructions);
    } finally {
      this.scanning = false;
      this.monitor.mode = 'off';
    }
    this.monitor.resync();
  }

  private applyEdits(position: number): void {
    for (const e of this.edits) {
      if (e.position !== position) continue;
      if (e.kind === 'register') this.machine.uc.regWrite(e.id, e.value);
      else this.pokeMemory(e.address, e.bytes);
    }
  }

  private pokeMemory(address: bigint, bytes: Uint8Array): void {
    this.machine.uc.memWrite(address, bytes);
    const end = address + BigInt(bytes.length);
    for (const s of this.image.sections) {
      const sEnd = s.address + BigInt(s.bytes.length);
      if (address < sEnd && end > s.address) {
        this.imageDirty = true;
        if (s.flags.exec) this.machine.uc.removeCache(address, end);
      }
    }
  }

  // ---- stops --------------------------------------------------------------------------

  private stop(reason: StopReason, extra: Omit<Partial<StopEvent>, 'reason' | 'position' | 'rip' | 'location'> = {}): StopEvent {
    const exec = this.prepared.execution;
    const rip = this.machine.uc.rip;
    this.hidden = extra.hiddenFrames ?? 0;
    const location = this.map.locate(rip);
    const ev: StopEvent = {
      reason, position: exec.instructions, rip, ...(location ? { location } : {}),
      ...(extra.breakpointIds?.length ? { breakpointIds: extra.breakpointIds } : {}),
      ...(extra.watch ? { watch: extra.watch } : {}),
      ...(extra.reverse ? { reverse: true } : {}),
      ...(this.hidden ? { hiddenFrames: this.hidden } : {}),
    };
    if (exec.ended) {
      ev.end = exec.ended;
      ev.result = this.prepared.result();
    }
    this.last = ev;
    return ev;
  }

  private entryStop(): StopEvent {
    return this.stop('entry', { hiddenFrames: this.enteringHidden([], this.machine.uc.rip) });
  }

  private exitedStop(watch?: WatchHit): StopEvent {
    return this.stop('exited', watch ? { watch } : {});
  }

  /**
   * The first address of the expansion `stack` names (innermost first): the
   * lowest address of any statement inside it.
   */
  private expansionEntry(stack: readonly GasFrame[]): bigint | undefined {
    const key = stackKey(stack);
    let entry = this.expansionEntries.get(key);
    if (entry === undefined) {
      for (const s of this.statements) if (insideExpansion(s.location.location, stack) && (entry === undefined || s.address < entry)) entry = s.address;
      if (entry !== undefined) this.expansionEntries.set(key, entry);
    }
    return entry;
  }

  /**
   * Arriving at `rip` from a statement whose expansion stack was `from`: the
   * expansions entered on the way are hidden when `rip` is the first
   * instruction of the outermost of them (gdb stops at an inline call site).
   */
  private enteringHidden(from: readonly GasFrame[], rip: bigint): number {
    const s = this.statementAt.get(rip);
    if (!s) return 0;
    const to = s.location.location.gasStack;
    let common = 0;
    while (common < from.length && common < to.length && stackKey(from.slice(from.length - common - 1)) === stackKey(to.slice(to.length - common - 1))) common++;
    if (to.length <= common) return 0;
    const outermostNew = to.slice(to.length - common - 1);
    return this.expansionEntry(outermostNew) === rip ? to.length - common : 0;
  }

  private enabledBreakpointsAt(address: bigint): Breakpoint[] {
    return [...this.bps.values()].filter((b) => b.enabled && b.addresses.includes(address));
  }

  /** Counts the hits of the breakpoints at a stop and deletes the temporary ones. */
  private countHits(bps: Breakpoint[], watch?: WatchHit): void {
    for (const b of bps) {
      b.hits++;
      if (b.temporary) this.removeBreakpoint(b.id);
    }
    if (watch) {
      const w = this.monitor.watches.find((x) => x.wp.id === watch.id);
      if (w) w.wp.hits++;
    }
  }

  private breakpointStop(bps: Breakpoint[], rip: bigint, extra: { watch?: WatchHit; reverse?: boolean } = {}): StopEvent {
    const hidden = Math.min(...bps.map((b) => this.bpHidden.get(b.id)?.get(rip) ?? 0));
    const reason: StopReason = bps.every((b) => b.spec.kind === 'seam-call') ? 'seam-call' : 'breakpoint';
    this.countHits(bps, extra.watch);
    return this.stop(reason, { breakpointIds: bps.map((b) => b.id), hiddenFrames: hidden, ...extra });
  }

  // ---- forwards ----------------------------------------------------------------------

  /** Loads the breakpoints into the execution before it runs. */
  private arm(): void {
    const exec = this.prepared.execution;
    exec.breakpoints.clear();
    for (const b of this.bps.values()) if (b.enabled) for (const a of b.addresses) exec.breakpoints.add(a);
    exec.pauseOnFixup = this.stopOnFixup;
    exec.pauseOnSeamCall = false;
    this.monitor.beginLive();
  }

  private forward(cond: StopCondition, from?: readonly GasFrame[]): StopEvent {
    if (this.ended) return this.exitedStop();
    this.arm();
    return this.afterForward(this.prepared.execution.runUntil(cond), from);
  }

  /**
   * Turns the run control's stop into a StopEvent: a change a value
   * watchpoint saw late is replayed back to; breakpoints are counted; a
   * line step shows an entered macro at its invocation.
   */
  private afterForward(stop: RunStop, from?: readonly GasFrame[]): StopEvent {
    this.monitor.mode = 'off';
    const late = this.monitor.lateHit;
    if (late) {
      this.replayTo(late.position);
      this.countHits([], late.hit);
      return this.stop('watchpoint', { watch: late.hit });
    }
    if (stop.kind === 'ended') {
      const w = this.monitor.exactHit;
      if (w) this.countHits([], w);
      return this.exitedStop(w);
    }
    const rip = this.machine.uc.rip;
    const r = stop.reason;
    // A value changed by the last instruction: the monitor only compares before the next one.
    const watch = (r.kind === 'watchpoint' ? this.monitor.exactHit : undefined) ?? this.monitor.compareValues();
    this.monitor.resync();
    if (r.kind === 'breakpoint') {
      const bps = this.enabledBreakpointsAt(rip);
      if (bps.length) return this.breakpointStop(bps, rip, watch ? { watch } : {});
    }
    if (watch) {
      this.countHits([], watch);
      return this.stop('watchpoint', { watch });
    }
    switch (r.kind) {
      case 'fixup': return this.stop('fixup');
      case 'interrupted': return this.stop('interrupted');
      case 'seam-call': return this.stop('seam-call');
      default: return this.stop('step', from ? { hiddenFrames: this.enteringHidden(from, rip) } : {});
    }
  }

  /** Back to the entry, with a fresh handler; edits are forgotten (gdb `run`). */
  restart(): StopEvent {
    this.edits = [];
    this.replayTo(0);
    return this.entryStop();
  }

  stepInstruction(n = 1): StopEvent {
    return this.forward({ instructions: Math.max(1, Math.floor(n)) });
  }

  /** The statement at RIP, if RIP is at one. */
  private here(): CodeStatement | undefined {
    return this.statementAt.get(this.machine.uc.rip);
  }

  /** The lowest address of the line instance `key` (a jump back to it is a new line, as in gdb). */
  private lineStart(key: string, depth: number): bigint | undefined {
    let start: bigint | undefined;
    for (const s of this.statements) if (lineKeyAtDepth(s.location.location, depth) === key && (start === undefined || s.address < start)) start = s.address;
    return start;
  }

  /** Runs to the first statement whose line at `depth` is not `key`, or back to the line's start. */
  private runToOtherLine(here: CodeStatement, depth: number): StopEvent {
    const key = lineKeyAtDepth(here.location.location, depth);
    const targets = this.statements.filter((s) => lineKeyAtDepth(s.location.location, depth) !== key).map((s) => s.address);
    const start = this.lineStart(key, depth);
    if (start !== undefined && start !== here.address) targets.push(start);
    return this.forward({ addresses: targets }, here.location.location.gasStack);
  }

  /** gdb `step`: to the next source line, entering macro expansions (an entered macro first shows its invocation). */
  stepLine(): StopEvent {
    if (this.ended) return this.exitedStop();
    const here = this.here();
    if (!here) return this.stepInstruction(1);
    if (this.hidden > 0) return this.stop('step', { hiddenFrames: this.hidden - 1 });
    return this.runToOtherLine(here, Infinity);
  }

  /** gdb `next`: to the next line at the current macro depth (a macro invocation is one line). */
  nextLine(): StopEvent {
    if (this.ended) return this.exitedStop();
    const here = this.here();
    if (!here) return this.stepInstruction(1);
    return this.runToOtherLine(here, here.depth - this.hidden);
  }

  /** Out of the innermost macro expansion shown; at depth 0: run to return (gdb `finish`). */
  stepOut(): StopEvent {
    if (this.ended) return this.exitedStop();
    const here = this.here();
    const stack = here?.location.location.gasStack.slice(this.hidden) ?? [];
    if (!here || stack.length === 0) return this.runToReturn();
    const targets = this.statements.filter((s) => !insideExpansion(s.location.location, stack)).map((s) => s.address);
    return this.forward({ addresses: targets }, here.location.location.gasStack);
  }

  /** Runs until the current function returns to its caller (for the entry point: the end of the run). */
  runToReturn(): StopEvent {
    if (this.ended) return this.exitedStop();
    const rip = this.machine.uc.rip;
    const sym = this.image.symbols.find((s) => s.section !== null && s.type === 'func' && rip >= s.address && rip < s.address + (s.size > 0n ? s.size : 1n));
    if (!sym) return this.continue();
    const rsp0 = this.machine.uc.regRead(GPR_IDS.rsp);
    const outside = this.statements.filter((s) => s.address < sym.address || s.address >= sym.address + sym.size).map((s) => s.address);
    const from = this.here()?.location.location.gasStack ?? [];
    for (;;) {
      const ev = this.forward({ addresses: outside }, from);
      // Inside a function this one called: keep going until the frame is popped.
      if (ev.reason === 'step' && this.machine.uc.regRead(GPR_IDS.rsp) <= rsp0) continue;
      return ev;
    }
  }

  continue(): StopEvent {
    if (this.ended) return this.exitedStop();
    this.arm();
    return this.afterForward(this.prepared.execution.continue());
  }

  /** `continue` that yields to the event loop and stops on `interrupt()` or when `signal` aborts. */
  async continueAsync(signal?: AbortSignal): Promise<StopEvent> {
    if (this.ended) return this.exitedStop();
    this.arm();
    const stop = await this.prepared.execution.continueAsync(signal ? { signal } : {});
    return this.afterForward(stop);
  }

  /** Asks a running `continueAsync` to stop (gdb Ctrl-C, DAP pause). */
  interrupt(): void {
    this.prepared.execution.interrupt();
  }

  // ---- backwards ---------------------------------------------------------------------

  reverseStepInstruction(n = 1): StopEvent {
    const p = this.position;
    const k = Math.max(1, Math.floor(n));
    if (p === 0) return this.stop('start-of-run', { reverse: true, hiddenFrames: this.hidden });
    this.replayTo(Math.max(0, p - k));
    return this.stop(p - k < 0 ? 'start-of-run' : 'step', { reverse: true });
  }

  private keyAt(position: number, depth: number): string {
    const s = this.statementAt.get(this.trail[position]!);
    return s ? lineKeyAtDepth(s.location.location, depth) : addressKey(this.trail[position]!);
  }

  /**
   * Back to the start of the previous line: past the rest of the current
   * line (at its shown depth), then to the first instruction of the line
   * before it (at `depth`).
   */
  private reverseLine(depth: (here: CodeStatement | undefined) => number): StopEvent {
    const p = this.position;
    if (p === 0) return this.stop('start-of-run', { reverse: true, hiddenFrames: this.hidden });
    const here = this.here();
    const shownDepth = here ? here.depth - this.hidden : 0;
    const currentKey = here ? lineKeyAtDepth(here.location.location, shownDepth) : addressKey(this.machine.uc.rip);
    let i = p - 1;
    while (i >= 0 && this.keyAt(i, shownDepth) === currentKey) i--;
    if (i < 0) return this.reverseTo(0, 'start-of-run');
    const d = depth(this.statementAt.get(this.trail[i]!));
    const key = this.keyAt(i, d);
    while (i > 0 && this.keyAt(i - 1, d) === key) i--;
    return this.reverseTo(i, 'step', d);
  }

  /** gdb `reverse-step`: to the start of the previous source line, entering macro expansions. */
  reverseStepLine(): StopEvent {
    return this.reverseLine(() => Infinity);
  }

  /** gdb `reverse-next`: to the start of the previous line at the current macro depth. */
  reverseNextLine(): StopEvent {
    const here = this.here();
    const d = here ? here.depth - this.hidden : 0;
    return this.reverseLine((s) => (here ? d : s?.depth ?? 0));
  }

  /** gdb `reverse-continue`: back to the previous breakpoint or watchpoint hit, or to the start of the run. */
  reverseContinue(): StopEvent {
    if (this.position === 0) return this.stop('start-of-run', { reverse: true, hiddenFrames: this.hidden });
    return this.reverseTo(0, 'start-of-run');
  }

  /**
   * Goes back to `floor` unless a breakpoint, watchpoint or caught fixup
   * would stop the run between there and here (the latest one wins).
   */
  private reverseTo(floor: number, reason: StopReason, viewDepth?: number): StopEvent {
    const p = this.position;
    const candidates: Candidate[] = [];
    for (let i = floor; i < p; i++) {
      const bps = this.enabledBreakpointsAt(this.trail[i]!);
      if (bps.length) candidates.push({ position: i, reason: 'breakpoint', breakpointIds: bps.map((b) => b.id) });
    }
    if (this.monitor.watches.length || this.stopOnFixup) {
      this.replayTo(p, true);
      for (const h of this.monitor.scanHits) {
        // Going backwards, a watchpoint stops before the instruction that changed the value.
        if (h.step >= floor && h.step < p) candidates.push({ position: h.step, reason: 'watchpoint', watch: { ...h.hit, old: h.hit.new, new: h.hit.old } });
      }
      if (this.stopOnFixup) for (const f of this.scanFixups) if (f >= floor && f < p) candidates.push({ position: f, reason: 'fixup' });
    }
    const best = candidates.reduce<Candidate | undefined>((b, c) => (!b || c.position > b.position ? c : b), undefined);
    const target = best?.position ?? floor;
    this.replayTo(target);
    const rip = this.machine.uc.rip;
    const atTarget = candidates.filter((c) => c.position === target);
    const bps = atTarget.some((c) => c.breakpointIds) ? this.enabledBreakpointsAt(rip) : [];
    const watch = atTarget.find((c) => c.watch)?.watch;
    if (bps.length) return this.breakpointStop(bps, rip, { reverse: true, ...(watch ? { watch } : {}) });
    if (watch) {
      this.countHits([], watch);
      return this.stop('watchpoint', { watch, reverse: true });
    }
    if (atTarget.some((c) => c.reason === 'fixup')) return this.stop('fixup', { reverse: true });
    const s = this.here();
    // Back at the entry with nothing found: shown as the entry is.
    const hidden = reason === 'start-of-run' ? this.enteringHidden([], rip)
      : viewDepth !== undefined && viewDepth !== Infinity && s && s.depth > viewDepth ? s.depth - viewDepth : 0;
    return this.stop(reason, { reverse: true, hiddenFrames: hidden });
  }

  // ---- breakpoints and watchpoints ------------------------------------------------------

  addBreakpoint(spec: BreakpointSpec, opts: { temporary?: boolean } = {}): Breakpoint {
    const r = resolveBreakpoint(spec, { map: this.map, image: this.image, seamSites: this.machine.sites.map((s) => s.address) });
    const bp: Breakpoint = {
      id: this.nextId++, spec, temporary: opts.temporary === true, enabled: true, addresses: r.addresses, verified: r.verified, hits: 0,
      ...(r.movedTo ? { movedTo: r.movedTo } : {}), ...(r.file ? { file: r.file } : {}), ...(r.message ? { message: r.message } : {}),
    };
    this.bps.set(bp.id, bp);
    this.bpHidden.set(bp.id, r.hidden);
    return bp;
  }

  removeBreakpoint(id: number): boolean {
    this.bpHidden.delete(id);
    return this.bps.delete(id);
  }

  /** Enables or disables a breakpoint (gdb `enable`/`disable`). */
  setBreakpointEnabled(id: number, enabled: boolean): boolean {
    const b = this.bps.get(id);
    if (b) b.enabled = enabled;
    return b !== undefined;
  }

  breakpoints(): readonly Breakpoint[] {
    return [...this.bps.values()];
  }

  addWatchpoint(spec: WatchSpec): Watchpoint {
    const id = this.nextId;
    const access = spec.kind === 'register' ? 'write' : spec.access ?? 'write';
    let active: Omit<ActiveWatch, 'wp' | 'tracked'> & { label: string };
    const memoryWatch = (address: bigint, size: number, label: string) => {
      if (size < 1 || size > 64) throw new SeamlabError('DEBUG_WATCH_SIZE', `cannot watch ${size} bytes`, 'watch 1 to 64 bytes');
      if (!this.machine.readMemory(address, size)) throw new SeamlabError('DEBUG_WATCH_UNMAPPED', `nothing is mapped at ${hexU64(address)}`, 'watch memory the run can reach (a struct field, the stack)');
      return { kind: 'memory' as const, access, address, size, label, current: () => fromLittleEndian(this.machine.readMemory(address, size) ?? new Uint8Array(size)) };
    };
    if (spec.kind === 'register') {
      const name = spec.register.replace(/^\$/, '').toLowerCase();
      const view = REGISTER_VIEWS.get(name);
      if (!view) throw new SeamlabError('DEBUG_WATCH_REGISTER', `no register named ${spec.register}`, 'registers: rax … r15, rip, rflags, eax …');
      active = { kind: 'value', access: 'write', label: `$${name}`, current: () => this.readView(view) };
    } else if (spec.kind === 'memory') {
      const label = this.prepared.plan.labels.find((l) => l.address === spec.address && l.size === spec.size)?.name ?? `*(u${spec.size * 8}*)${hexU64(spec.address)}`;
      active = memoryWatch(spec.address, spec.size, label);
    } else {
      const v = this.evaluateValue(spec.expression);
      if (v.lvalue?.kind === 'memory') active = memoryWatch(v.lvalue.address, v.lvalue.size, spec.expression.trim());
      else if (access !== 'write') throw new SeamlabError('DEBUG_WATCH_ACCESS', `${spec.expression} is not in memory: only writes to it can be watched`, 'rwatch/awatch need a memory location, e.g. out->r8 or *(u64*)($rsp+8)');
      else if (v.lvalue?.kind === 'register') {
        const view = v.lvalue.view;
        active = { kind: 'value', access, label: spec.expression.trim(), current: () => this.readView(view) };
      } else {
        const expr = spec.expression;
        const current = () => {
          try {
            return this.evaluateValue(expr).value;
          } catch {
            return 0n; // e.g. memory the expression reads is not mapped at this point of the run
          }
        };
        active = { kind: 'value', access, label: expr.trim(), current };
      }
    }
    this.nextId++;
    const wp: Watchpoint = {
      id, spec, label: active.label, access: active.access, hits: 0,
      ...(active.address !== undefined ? { address: active.address, size: active.size! } : {}),
    };
    this.monitor.watches.push({ ...active, wp, tracked: active.current() });
    return wp;
  }

  removeWatchpoint(id: number): boolean {
    const i = this.monitor.watches.findIndex((w) => w.wp.id === id);
    if (i < 0) return false;
    this.monitor.watches.splice(i, 1);
    return true;
  }

  watchpoints(): readonly Watchpoint[] {
    return this.monitor.watches.map((w) => w.wp);
  }

  // ---- state at the stop -----------------------------------------------------------------

  registers(): CpuState {
    return this.machine.cpuState();
  }

  private readView(view: RegisterView): bigint {
    const full = this.machine.uc.regRead(registerId(view.base));
    return (full >> BigInt(view.shift)) & ((1n << BigInt(8 * view.size)) - 1n);
  }

  private requireRunning(what: string): void {
    if (this.ended) throw new SeamlabError('DEBUG_NOT_RUNNING', `cannot ${what}: the run has ended`, 'go back (reverse-stepi, reverse-continue) or restart it (run)');
  }

  /** Writes a register (or a part of one: eax, r8d, al); replayed at this position when the run is replayed. */
  writeRegister(name: string, value: bigint): void {
    this.requireRunning('write a register');
    const view = REGISTER_VIEWS.get(name.replace(/^\$/, '').toLowerCase());
    if (!view) throw new SeamlabError('DEBUG_UNKNOWN_REGISTER', `no register named ${name}`, 'registers: rax … r15, rip, rflags, eax, r8d, al …');
    const id = registerId(view.base);
    const mask = ((1n << BigInt(8 * view.size)) - 1n) << BigInt(view.shift);
    const full = view.size === 4 && view.base !== 'rflags'
      ? BigInt.asUintN(32, value) // a 32-bit write zero-extends, as on the CPU
      : (this.machine.uc.regRead(id) & ~mask) | ((BigInt.asUintN(64, value) << BigInt(view.shift)) & mask);
    this.machine.uc.regWrite(id, full);
    this.edits.push({ position: this.position, kind: 'register', id, value: full });
    this.monitor.resync();
  }

  readMemory(address: bigint, length: number): Uint8Array | undefined {
    return this.machine.readMemory(address, length);
  }

  /** Writes guest memory; replayed at this position when the run is replayed. */
  writeMemory(address: bigint, bytes: Uint8Array): void {
    this.requireRunning('write memory');
    if (!this.machine.readMemory(address, bytes.length)) throw new SeamlabError('DEBUG_UNMAPPED', `nothing is mapped at ${hexU64(address)} (${bytes.length} bytes)`, 'write to the stack, the caller\'s structs or physical memory');
    this.pokeMemory(address, bytes);
    this.edits.push({ position: this.position, kind: 'memory', address, bytes: Uint8Array.from(bytes) });
    this.monitor.resync();
  }

  private exprContext(): ExprContext {
    let cpu: CpuState | undefined;
    return {
      register: (base) => {
        cpu ??= this.machine.cpuState();
        return base === 'rip' ? cpu.rip : base === 'rflags' ? cpu.rflags : cpu.gprs[base];
      },
      readMemory: (address, size) => this.machine.readMemory(address, size),
      symbol: (name) => this.image.symbols.find((s) => s.name === name && s.section !== null)?.address,
      structParam: (name) => {
        const p = this.fn.abi.params.find((x) => x.name === name);
        if (!p || p.type.kind !== 'pointer' || p.type.to.kind !== 'struct') return undefined;
        const planned = this.prepared.plan.params.find((x) => x.name === name);
        return { address: planned?.struct?.address ?? 0n, layout: p.type.to.layout };
      },
    };
  }

  /** Evaluates an expression with its C type and where it lives. */
  evaluateValue(expression: string): ExprValue {
    return evaluateExpression(expression, this.exprContext());
  }

  /** `$rax`, `rcx`, `__seamcall`, `args->rcx`, `*(u64*)($rsp+8)`, `+ - * / % & | ^ << >> ~ ()`. */
  evaluate(expression: string): { value: bigint; size: number; text: string } {
    const v = this.evaluateValue(expression);
    return { value: v.value, size: typeSize(v.type), text: hexU64(v.value) };
  }

  /** gdb `set var EXPR = VALUE`: the expression must be a register or memory. */
  assign(expression: string, value: bigint): void {
    const v = this.evaluateValue(expression);
    if (v.lvalue?.kind === 'register') this.writeRegister(v.lvalue.name, value);
    else if (v.lvalue?.kind === 'memory') this.writeMemory(v.lvalue.address, toLittleEndian(value, v.lvalue.size));
    else throw new SeamlabError('DEBUG_NOT_LVALUE', `${expression} is neither a register nor memory`, 'assign to $rax, out->r8 or *(u64*)ADDR');
  }

  /** The SEAM calls served so far. */
  seamCalls(): readonly SeamCallRecord[] {
    return this.prepared.execution.seamCalls;
  }

  /** The call's parameters as the harness passed them, struct fields read now. */
  params(): ParamView[] {
    return this.prepared.plan.params.map((p) => {
      const view: ParamView = { name: p.name, register: p.register, role: p.role, value: p.value };
      if (p.struct) {
        const s = p.struct;
        view.struct = {
          name: s.layout.name, address: s.address, outputOnly: s.outputOnly,
          fields: s.layout.fields.map((f) => {
            const address = s.address + BigInt(f.offset);
            return { name: f.name, path: `${p.name}->${f.name}`, address, offset: f.offset, size: f.size, value: fromLittleEndian(this.machine.readMemory(address, f.size) ?? new Uint8Array(f.size)) };
          }),
        };
      }
      return view;
    });
  }

  /** The name the call plan gives an address (`out->r8`, `stack[rsp+8]`), if any. */
  labelOf(address: bigint): string | undefined {
    const labels = this.prepared.plan;
    const rsp = this.machine.uc.regRead(GPR_IDS.rsp);
    const l = labels.labels.find((x) => address >= x.address && address < x.address + BigInt(x.size));
    if (l) return address === l.address ? l.name : `${l.name}+${hexU64(address - l.address)}`;
    if (address >= labels.stack.base && address < labels.stack.base + BigInt(labels.stack.size)) {
      const d = address - rsp;
      return d === 0n ? 'stack[rsp]' : d > 0n ? `stack[rsp+${d}]` : `stack[rsp-${-d}]`;
    }
    return undefined;
  }

  /**
   * The frames at the stop: 0 = the line shown (RIP's statement, or the
   * invocation of a macro not yet entered), then one per GAS expansion
   * around it (innermost first, each at the line that invokes it), then the
   * function.
   */
  backtrace(): Frame[] {
    const rip = this.machine.uc.rip;
    const loc = this.map.locate(rip);
    if (!loc) return [{ index: 0, kind: 'statement', name: this.machine.regionName(rip) ?? hexU64(rip), address: rip, text: '' }];
    const stack = loc.location.gasStack;
    const h = Math.min(this.hidden, stack.length);
    const frames: Frame[] = [];
    const name = loc.symbol ?? hexU64(rip);
    if (h === 0) frames.push({ index: 0, kind: 'statement', name, location: loc.location, address: rip, text: loc.text });
    else frames.push({ index: 0, kind: 'statement', name, location: invocationLocation(stack, h - 1), address: rip, text: stack[h - 1]!.invocation });
    for (let i = h; i < stack.length; i++) {
      const f = stack[i]!;
      frames.push({ index: frames.length, kind: 'macro', name: f.name, location: invocationLocation(stack, i), address: rip, text: f.invocation, counter: f.counter });
    }
    const sym = this.image.symbols.find((s) => s.section !== null && s.type === 'func' && rip >= s.address && rip < s.address + (s.size > 0n ? s.size : 1n));
    if (sym) {
      const entry = this.revision.functions.find((f) => f.name === sym.name && f.sourceFile === this.image.sourceFile);
      const at = entry ? locationAt(entry.definedAt) : this.map.locate(sym.address)?.location;
      frames.push({ index: frames.length, kind: 'function', name: sym.name, ...(at ? { location: at } : {}), address: sym.address, text: entry?.abi.prototype ?? '' });
    }
    return frames;
  }

  /** Instructions around an address (see CodeIndex.window). */
  disassemble(address: bigint, instructionOffset: number, count: number): InstructionView[] {
    return this.code.window(address, instructionOffset, count);
  }

  /** The source text of a tree-relative file of the revision (patched content for a patched revision). */
  sourceText(file: string): string | undefined {
    return this.revision.files.readFile(file);
  }
}

/** Where expansion `i` of `stack` is invoked, as a location inside the expansions around it. */
function invocationLocation(stack: readonly GasFrame[], i: number): SourceLocation {
  const f = stack[i]!;
  return { pos: f.invokedAt, includeStack: f.includeStack, cppStack: [], gasStack: stack.slice(i + 1) };
}

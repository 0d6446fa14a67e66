/**
 * A scripted stand-in for the debugger core, for the GDB stub's protocol
 * tests: a "program" of instruction addresses executed in order (no
 * semantics: each step moves RIP to the next address and bumps RAX), a
 * sparse memory, address breakpoints, write watchpoints that fire on the
 * step that `writes` names, and exact reverse execution by position.
 * It implements the GdbCore interface only; it is not the real core.
 */
import type { CoreStopEvent, GdbCore, WatchAccess } from '../../src/gdb/core.js';
import type { CpuState } from '../../src/machine/cpu-state.js';
import { GPR_NAMES, type Regs } from '../../src/support/registers.js';

export interface FakeProgram {
  /** Instruction addresses in execution order. */
  path: bigint[];
  /** Memory regions. */
  memory: { base: bigint; bytes: Uint8Array }[];
  /** Position (index into path) → a memory write that instruction does. */
  writes?: Map<number, { address: bigint; bytes: Uint8Array }>;
  /** Loop forever (for interrupt tests): after the last address, back to the first. */
  loop?: boolean;
}

export class FakeCore implements GdbCore {
  position = 0;
  readonly regs: Regs;
  rflags = 0x202n;
  private nextId = 1;
  private readonly bps = new Map<number, bigint>();
  private readonly watches = new Map<number, { address: bigint; size: number; access: WatchAccess }>();
  private last: CoreStopEvent;
  private interrupted = false;
  readonly calls: string[] = [];
  private readonly mem: { base: bigint; bytes: Uint8Array }[];

  constructor(private readonly program: FakeProgram) {
    this.regs = Object.fromEntries(GPR_NAMES.map((n, i) => [n, BigInt(i) * 0x1111n])) as Regs;
    this.regs.rsp = 0x7000n;
    this.mem = program.memory.map((m) => ({ base: m.base, bytes: Uint8Array.from(m.bytes) }));
    this.last = this.event('entry');
  }

  get rip(): bigint {
    return this.program.path[this.position % this.program.path.length]!;
  }

  private get atEnd(): boolean {
    return !this.program.loop && this.position >= this.program.path.length - 1;
  }

  private event(reason: CoreStopEvent['reason'], extra: Partial<CoreStopEvent> = {}): CoreStopEvent {
    this.last = { reason, position: this.position, rip: this.rip, ...extra };
    return this.last;
  }

  stopEvent(): CoreStopEvent {
    return this.last;
  }

  registers(): CpuState {
    return { gprs: { ...this.regs, rax: this.regs.rax + BigInt(this.position) }, rip: this.rip, rflags: this.rflags, segments: { cs: 0x10n, ss: 0x18n, ds: 0n, es: 0n, fs: 0n, gs: 0n }, fsBase: 0n, gsBase: 0n };
  }

  writeRegister(name: string, value: bigint): void {
    this.calls.push(`writeRegister ${name}=0x${value.toString(16)}`);
    if (name === 'rflags') this.rflags = value;
    else if (name in this.regs) this.regs[name as keyof Regs] = name === 'rax' ? value - BigInt(this.position) : value;
    else throw new Error(`cannot write ${name}`);
  }

  private region(address: bigint, length: number) {
    return this.mem.find((m) => address >= m.base && address + BigInt(length) <= m.base + BigInt(m.bytes.length));
  }

  readMemory(address: bigint, length: number): Uint8Array | undefined {
    const m = this.region(address, length);
    if (!m) return undefined;
    const at = Number(address - m.base);
    return m.bytes.slice(at, at + length);
  }

  writeMemory(address: bigint, bytes: Uint8Array): void {
    this.calls.push(`writeMemory 0x${address.toString(16)} ${Buffer.from(bytes).toString('hex')}`);
    const m = this.region(address, bytes.length);
    if (!m) throw new Error('unmapped');
    m.bytes.set(bytes, Number(address - m.base));
  }

  addBreakpoint(spec: { kind: 'address'; address: bigint }): { id: number } {
    const id = this.nextId++;
    this.bps.set(id, spec.address);
    this.calls.push(`addBreakpoint 0x${spec.address.toString(16)}`);
    return { id };
  }

  removeBreakpoint(id: number): boolean {
    this.calls.push(`removeBreakpoint ${id}`);
    return this.bps.delete(id);
  }

  addWatchpoint(spec: { kind: 'memory'; address: bigint; size: number; access: WatchAccess }): { id: number } {
    const id = this.nextId++;
    this.watches.set(id, { address: spec.address, size: spec.size, access: spec.access });
    this.calls.push(`addWatchpoint ${spec.access} 0x${spec.address.toString(16)}/${spec.size}`);
    return { id };
  }

  removeWatchpoint(id: number): boolean {
    this.calls.push(`removeWatchpoint ${id}`);
    return this.watches.delete(id);
  }

  /** One instruction forward; the watchpoint it triggers, if any. */
  private advance(): CoreStopEvent | undefined {
    const w = this.program.writes?.get(this.position);
    if (w) {
      this.writeMemory(w.address, w.bytes);
      this.calls.pop();
      this.position++;
      for (const [id, x] of this.watches) {
        if (x.access !== 'read' && w.address < x.address + BigInt(x.size) && x.address < w.address + BigInt(w.bytes.length)) {
          return this.event('watchpoint', { watch: { id, address: x.address } });
        }
      }
      return undefined;
    }
    this.position++;
    return undefined;
  }

  private atBreakpoint(): number[] {
    return [...this.bps].filter(([, a]) => a === this.rip).map(([id]) => id);
  }

  stepInstruction(n = 1): CoreStopEvent {
    this.calls.push(`stepInstruction ${n}`);
    for (let i = 0; i < n; i++) {
      if (this.atEnd) return this.event('exited', { end: { kind: 'returned' }, result: { returnValue: 0n } });
      const w = this.advance();
      if (w) return w;
    }
    return this.event('step');
  }

  async continueAsync(): Promise<CoreStopEvent> {
    this.calls.push('continue');
    this.interrupted = false;
    for (let steps = 0; ; steps++) {
      if (this.atEnd) return this.event('exited', { end: { kind: 'returned' }, result: { returnValue: 0n } });
      const w = this.advance();
      if (w) return w;
      const ids = this.atBreakpoint();
      if (ids.length > 0) return this.event('breakpoint', { breakpointIds: ids });
      if (steps % 1000 === 999) await new Promise((r) => setImmediate(r));
      if (this.interrupted) return this.event('interrupted');
    }
  }

  interrupt(): void {
    this.calls.push('interrupt');
    this.interrupted = true;
  }

  reverseStepInstruction(n = 1): CoreStopEvent {
    this.calls.push(`reverseStepInstruction ${n}`);
    this.position = Math.max(0, this.position - n);
    return this.event(this.position === 0 ? 'start-of-run' : 'step');
  }

  reverseContinue(): CoreStopEvent {
    this.calls.push('reverseContinue');
    while (this.position > 0) {
      this.position--;
      const ids = this.atBreakpoint();
      if (ids.length > 0) return this.event('breakpoint', { breakpointIds: ids });
    }
    return this.event('start-of-run');
  }
}

/**
 * SeamCall objects for model tests that call handlers directly (no machine),
 * and outcome helpers that drop the free-text note.
 */
import { PhysMemory } from '../../src/machine/memory.js';
import { GUEST_ENV, HOST_ENV, type CpuEnv, type GprName, type Outcome, type SeamCall, type SeamKind } from '../../src/seam/types.js';

export const PHYS = 0x40000000n;

export function mkCall(regs: Partial<Record<GprName, bigint>>, opts: { env?: Partial<CpuEnv>; kind?: SeamKind; mem?: PhysMemory } = {}): SeamCall {
  const all = Object.fromEntries(['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'].map((r) => [r, 0n])) as Record<GprName, bigint>;
  const kind = opts.kind ?? 'seamcall';
  return {
    kind, index: 0, rip: 0n, rflags: 2n, regs: { ...all, ...regs },
    env: { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV), ...opts.env },
    mem: opts.mem ?? new PhysMemory(PHYS, Buffer.alloc(0x10000)),
  };
}

export const ret = (rax: bigint, regs?: Record<string, bigint>) => (regs ? { kind: 'return', rax, regs } : { kind: 'return', rax });
/** The outcome without its note, loosely typed for assertions. */
export const strip = (o: Outcome): { kind: string; rax?: bigint; regs?: Record<string, bigint> } => { const { note: _n, ...rest } = o; return rest; };


/**
 * The memory an instruction reads and writes, worked out from its operands
 * and the registers before it — what a trace recorded on the CPU shows in
 * place of the accesses Unicorn's memory hooks report (the CPU, single-
 * stepped under ptrace, reports only the bytes that changed).
 *
 * The accesses are the ones Unicorn's hooks report for the same
 * instruction, in the same order: the explicit memory operands Capstone
 * finds (reads first, then writes, in operand order), plus the stack slots
 * push, pop, call, ret, pushf, popf and leave use implicitly (Intel SDM
 * Vol. 2: a push stores at RSP − size; a pop, ret or popf loads at RSP;
 * leave loads at RBP; `pop` into memory addressed through RSP uses RSP after
 * the increment). Where Capstone 5's access bits are wrong for an
 * instruction, the table below says what it does: `lea` and the hinting
 * `nop`/`prefetch` forms touch no memory, `stos` writes its operand,
 * `cmpxchg` reads and writes it.
 *
 * Not derived: FS/GS-relative operands (the CPU's segment bases are not the
 * machine's), and anything an instruction does beyond its operands (string
 * instructions' repeat counts, XSAVE areas, descriptor tables): none of them
 * is in the TDX entry points.
 */
import type { InsnMemory, MemOperand } from '../encode/capstone.js';
import { regInfo } from '../encode/registers.js';
import { SLOT } from '../machine/register-file.js';

export interface DerivedAccess {
  kind: 'read' | 'write';
  address: bigint;
  size: number;
}

const U64 = (v: bigint) => BigInt.asUintN(64, v);

const NO_ACCESS = /^(lea[wlq]?|nop[wlq]?|prefetch\w*)$/;
const PUSH = /^push[wq]?$/;
const POP = /^pop[wq]?$/;
const CALL = /^call[wq]?$/;
const RET = /^ret[wq]?$/;
const PUSHF = /^pushf[wq]?$/;
const POPF = /^popf[wq]?$/;
const LEAVE = /^leave[wq]?$/;
const STOS = /^stos[bwlq]$/;
const CMPXCHG = /^cmpxchg/;
const PREFIXES = /^((rep|repe|repz|repne|repnz|lock|notrack|bnd|xacquire|xrelease)\s+)+/;

/** The value of a register Capstone names (`rsi`, `esi`, `rip`), read from the registers before the instruction. */
function registerValue(name: string, regs: BigUint64Array, next: bigint): bigint | undefined {
  if (name === 'rip' || name === 'eip') return next;
  const info = regInfo(name);
  if (!info || info.cls !== 'gpr' || info.highByte) return undefined;
  const v = regs[info.num]!;
  return info.bits === 64 ? v : BigInt.asUintN(info.bits, v);
}

/** The effective address of a memory operand, or undefined where it depends on a segment base. */
function effectiveAddress(op: MemOperand, m: InsnMemory, regs: BigUint64Array, rspAdjust = 0n): bigint | undefined {
  if (op.segment === 'fs' || op.segment === 'gs') return undefined;
  const next = m.insn.address + BigInt(m.insn.bytes.length);
  let ea = op.disp;
  if (op.base) {
    const b = registerValue(op.base, regs, next);
    if (b === undefined) return undefined;
    ea += b + (regInfo(op.base)?.num === SLOT.rsp ? rspAdjust : 0n);
  }
  if (op.index) {
    const x = registerValue(op.index, regs, next);
    if (x === undefined) return undefined;
    ea += x * BigInt(op.scale);
  }
  return m.addrSize === 4 ? BigInt.asUintN(32, ea) : U64(ea);
}

/** Stack slot size of push/pop/pushf/popf: 2 with a 16-bit operand ("w" suffix), else 8. */
function stackSize(mnemonic: string): number {
  return mnemonic.endsWith('w') ? 2 : 8;
}

/** The accesses of one instruction, in the order Unicorn's hooks report them. `regs` are the 16 GPRs before it (SLOT order). */
export function derivedAccesses(m: InsnMemory, regs: BigUint64Array): DerivedAccess[] {
  // Capstone spells prefixes into the mnemonic (`rep stosq`, `lock xaddq`).
  const mn = m.insn.mnemonic.replace(PREFIXES, '');
  if (NO_ACCESS.test(mn)) return [];
  const rsp = regs[SLOT.rsp]!;
  const reads: DerivedAccess[] = [];
  const writes: DerivedAccess[] = [];
  const popped = POP.test(mn) ? stackSize(mn) : 0;
  for (const op of m.operands) {
    // pop into memory through RSP addresses it after the increment (SDM Vol. 2B POP).
    const address = effectiveAddress(op, m, regs, BigInt(popped));
    if (address === undefined) continue;
    const read = STOS.test(mn) ? false : op.read || CMPXCHG.test(mn);
    const write = STOS.test(mn) || op.write || CMPXCHG.test(mn);
    if (read) reads.push({ kind: 'read', address, size: op.size });
    if (write) writes.push({ kind: 'write', address, size: op.size });
  }
  if (PUSH.test(mn)) return [...reads, { kind: 'write', address: U64(rsp - BigInt(stackSize(mn))), size: stackSize(mn) }];
  if (POP.test(mn)) return [{ kind: 'read', address: rsp, size: popped }, ...writes];
  if (CALL.test(mn)) return [...reads, { kind: 'write', address: U64(rsp - 8n), size: 8 }];
  if (RET.test(mn)) return [{ kind: 'read', address: rsp, size: 8 }];
  if (POPF.test(mn)) return [{ kind: 'read', address: rsp, size: stackSize(mn) }];
  if (PUSHF.test(mn)) return [{ kind: 'write', address: U64(rsp - BigInt(stackSize(mn))), size: stackSize(mn) }];
  if (LEAVE.test(mn)) return [{ kind: 'read', address: regs[SLOT.rbp]!, size: 8 }];
  return [...reads, ...writes];
}

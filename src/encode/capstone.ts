/**
 * Capstone 5 (wasm, `@alexaltea/capstone-js`) behind a small wrapper for
 * AT&T disassembly, used by traces, listings and the debugger, for the
 * registers an instruction reads and writes (`cs_regs_access`), used by the
 * register-origin tracking of the leak check (src/run/origins.ts), and for
 * its memory operands (`memoryOperands`), from which a trace recorded on
 * the CPU derives the memory an instruction read and wrote (src/oracle/accesses.ts).
 *
 * Capstone does not know the TDX instructions: it prints `66 0F 01 CF`
 * (SEAMCALL) as `encls` and stops at `66 0F 01 CC` (TDCALL). We decode those
 * from our own table first, and show undecodable bytes as `.byte`, so a
 * listing never silently loses bytes.
 */
import { createRequire } from 'node:module';
import { matchTdxOpcode, TDX_INSN_LENGTH } from '../support/tdx-opcodes.js';

export interface DisasmInsn {
  address: bigint;
  bytes: Uint8Array;
  mnemonic: string;
  operands: string;
  /** `mnemonic operands`, trimmed. */
  text: string;
}


/**
 * What an instruction reads and writes, as Capstone's `cs_regs_access`
 * reports it: explicit operands and implicit ones (RSP for push/pop/call/ret,
 * RFLAGS for jcc/cmov/pushf). Names are Capstone's lower-case register names
 * at the width used (`r10d`, `al`, `rsp`, `rflags`).
 */
export interface InsnAccess {
  insn: DisasmInsn;
  regsRead: string[];
  regsWrite: string[];
  /** Registers used only to form a memory operand's address (`%rsi` in `0x10(%rsi)`), from the AT&T operand text. */
  addressRegs: string[];
}

/**
 * One memory operand as Capstone's x86 details give it: `disp(base,index,scale)`
 * with register names as Capstone spells them (`rsi`, `esi` under a 0x67
 * prefix, `rip`), the operand's size in bytes, and whether Capstone says the
 * instruction reads and/or writes it (its access bits are not always right:
 * src/oracle/accesses.ts corrects the instructions that matter).
 */
export interface MemOperand {
  segment?: string;
  base?: string;
  index?: string;
  scale: number;
  disp: bigint;
  size: number;
  read: boolean;
  write: boolean;
}

export interface InsnMemory {
  insn: DisasmInsn;
  /** Explicit memory operands in operand order (implicit stack accesses of push/pop/call/ret are not operands). */
  operands: MemOperand[];
  /** Address size in bytes (4 under a 0x67 prefix): the effective address wraps at 2^(8·addrSize). */
  addrSize: number;
}

interface CsModule {
  ARCH_X86: number; MODE_64: number; OPT_SYNTAX: number; OPT_SYNTAX_ATT: number; OPT_DETAIL: number; OPT_ON: number;
  Capstone: new (arch: number, mode: number) => CsHandle;
  /** Emscripten's typed read of the wasm heap. */
  getValue(ptr: number, type: 'i8' | 'i32' | 'i64' | '*'): number | bigint;
}
interface CsInsn { size: number; mnemonic: string; op_str: string }
interface CsHandle {
  option(opt: number, value: number): void;
  disasm(bytes: number[] | Uint8Array, address: bigint | number, max?: number): CsInsn[];
  disasm_iter(bytes: number[] | Uint8Array, address: bigint | number, callback: (insn: CsInsn, insnPtr: number) => boolean | void): number;
  regs_access(insnPtr: number): { regs_read: number[]; regs_write: number[] };
  reg_name(id: number): string;
  close(): void;
}

let loading: Promise<Disassembler> | undefined;

/** Loads the wasm once per process. */
export function loadDisassembler(): Promise<Disassembler> {
  loading ??= (async () => {
    const req = createRequire(import.meta.url);
    const factory = req('@alexaltea/capstone-js') as (opts?: object) => Promise<CsModule>;
    const cs = await factory();
    const handle = new cs.Capstone(cs.ARCH_X86, cs.MODE_64);
    handle.option(cs.OPT_SYNTAX, cs.OPT_SYNTAX_ATT);
    // A second handle with details on: cs_regs_access needs them, plain listings do not pay for them.
    const detailed = new cs.Capstone(cs.ARCH_X86, cs.MODE_64);
    detailed.option(cs.OPT_SYNTAX, cs.OPT_SYNTAX_ATT);
    detailed.option(cs.OPT_DETAIL, cs.OPT_ON);
    loaded = new Disassembler(handle, detailed, cs);
    return loaded;
  })();
  return loading;
}

let loaded: Disassembler | undefined;

/**
 * The disassembler if `loadDisassembler()` has finished, else undefined.
 * Capstone's wasm loads asynchronously; synchronous code (a run's observers)
 * uses it when an earlier `await loadDisassembler()` made it available.
 */
export function loadedDisassembler(): Disassembler | undefined {
  return loaded;
}

export function capstoneVersion(): string {
  const req = createRequire(import.meta.url);
  return (req('@alexaltea/capstone-js/package.json') as { version: string }).version;
}


/**
 * Capstone prints values of 2^32 and more in unsigned decimal
 * (`movabsq $9223652416614760448, %rax`); objdump, and anyone reading
 * kernel constants, wants hex (`$0x8000ff00ffff0000`).
 */
function hexWide(operands: string): string {
  return operands.replace(/(?<![\w.])\d{10,}(?!\w)/g, (d) => {
    const v = BigInt(d);
    return v > 0xffffffffn ? `0x${v.toString(16)}` : d;
  });
}

/** The registers inside the parentheses of AT&T memory operands: `0x10(%rsi,%rcx,4)` → rsi, rcx. */
function memoryOperandRegs(operands: string): string[] {
  const out: string[] = [];
  for (const m of operands.matchAll(/\(([^)]*)\)/g)) for (const r of m[1]!.matchAll(/%(\w+)/g)) out.push(r[1]!);
  return out;
}

/**
 * Where Capstone 5.0's C structs keep an x86 instruction's operands
 * (capstone.h, x86.h of the 5.0 branch): `cs_insn.detail` at byte 236;
 * in `cs_detail`, `regs_read[20]`, `regs_write[20]`, `groups[8]` and their
 * counts come first, so the architecture union starts at byte 96 (the
 * wrapper's own reader still uses Capstone 4's 80 and finds no operands);
 * in `cs_x86`, `addr_size` at 9, `op_count` at 64 and eight 48-byte
 * `cs_x86_op`s from 72 (type at 0, `x86_op_mem` segment/base/index/scale/
 * disp at 8/12/16/20/24, size at 32, access at 33). `memoryOperands`
 * checks the layout on a known instruction before trusting it.
 */
const CS_INSN_DETAIL = 236;
const CS_DETAIL_X86 = 96;
const X86_ADDR_SIZE = 9;
const X86_OP_COUNT = 64;
const X86_OPS = 72;
const X86_OP_SIZE = 48;
const X86_OP_MEM = 3;
const CS_AC_READ = 1;
const CS_AC_WRITE = 2;

export class Disassembler {
  private layoutChecked = false;

  constructor(private readonly cs: CsHandle, private readonly detailed?: CsHandle, private readonly module?: CsModule) {}

  /** Decodes one instruction at `offset` of `bytes`, which sit at `address`. */
  decodeOne(bytes: Uint8Array, offset: number, address: bigint): DisasmInsn {
    const tdx = matchTdxOpcode(bytes, offset);
    if (tdx) {
      return { address, bytes: bytes.slice(offset, offset + TDX_INSN_LENGTH), mnemonic: tdx, operands: '', text: tdx };
    }
    const window = bytes.subarray(offset, Math.min(bytes.length, offset + 15));
    let insn: { size: number; mnemonic: string; op_str: string } | undefined;
    try {
      insn = this.cs.disasm(window, address, 1)[0];
    } catch {
      insn = undefined; // Capstone throws when nothing decodes
    }
    if (!insn || insn.size === 0) {
      const b = bytes[offset]!;
      const operands = '0x' + b.toString(16).padStart(2, '0');
      return { address, bytes: bytes.slice(offset, offset + 1), mnemonic: '.byte', operands, text: `.byte ${operands}` };
    }
    const operands = hexWide(insn.op_str);
    const text = `${insn.mnemonic} ${operands}`.trim();
    return { address, bytes: bytes.slice(offset, offset + insn.size), mnemonic: insn.mnemonic, operands, text };
  }

  /** Decodes the whole buffer (or at most `max` instructions). */
  disassemble(bytes: Uint8Array, address: bigint, max = Infinity): DisasmInsn[] {
    const out: DisasmInsn[] = [];
    let off = 0;
    while (off < bytes.length && out.length < max) {
      const insn = this.decodeOne(bytes, off, address + BigInt(off));
      out.push(insn);
      off += insn.bytes.length;
    }
    return out;
  }

  /**
   * Decodes one instruction and asks Capstone which registers it reads and
   * writes. SEAMCALL/TDCALL/SEAMRET (unknown to Capstone) report no
   * registers: what they do is the SEAM side's outcome, not a property of
   * the encoding. Undecodable bytes report none either.
   */
  access(bytes: Uint8Array, offset: number, address: bigint): InsnAccess {
    const insn = this.decodeOne(bytes, offset, address);
    const none = { insn, regsRead: [], regsWrite: [], addressRegs: [] };
    if (!this.detailed || insn.mnemonic === '.byte' || matchTdxOpcode(bytes, offset)) return none;
    const d = this.detailed;
    let result: InsnAccess = none;
    try {
      d.disasm_iter(bytes.subarray(offset, Math.min(bytes.length, offset + 15)), address, (_i, ptr) => {
        const a = d.regs_access(ptr);
        result = {
          insn,
          regsRead: a.regs_read.map((r) => d.reg_name(r)),
          regsWrite: a.regs_write.map((r) => d.reg_name(r)),
          addressRegs: memoryOperandRegs(insn.operands),
        };
        return false;
      });
    } catch {
      return none;
    }
    return result;
  }

  /**
   * Decodes one instruction and reads its memory operands from Capstone's
   * details (see CS_DETAIL_X86). SEAMCALL/TDCALL and undecodable bytes have
   * none.
   */
  memoryOperands(bytes: Uint8Array, offset: number, address: bigint): InsnMemory {
    const insn = this.decodeOne(bytes, offset, address);
    const none: InsnMemory = { insn, operands: [], addrSize: 8 };
    if (insn.mnemonic === '.byte' || matchTdxOpcode(bytes, offset)) return none;
    this.checkLayout();
    return { insn, ...this.readOperands(bytes.subarray(offset, Math.min(bytes.length, offset + 15)), address) };
  }

  private readOperands(code: Uint8Array, address: bigint): Omit<InsnMemory, 'insn'> {
    const d = this.detailed;
    const m = this.module;
    if (!d || !m) throw new Error('internal: memory operands need the detailed Capstone handle');
    let out: Omit<InsnMemory, 'insn'> = { operands: [], addrSize: 8 };
    d.disasm_iter(code, address, (_i, ptr) => {
      const x86 = Number(m.getValue(ptr + CS_INSN_DETAIL, '*')) + CS_DETAIL_X86;
      const count = Number(m.getValue(x86 + X86_OP_COUNT, 'i8'));
      const operands: MemOperand[] = [];
      for (let i = 0; i < count; i++) {
        const op = x86 + X86_OPS + i * X86_OP_SIZE;
        if (Number(m.getValue(op, 'i32')) !== X86_OP_MEM) continue;
        const reg = (at: number) => {
          const id = Number(m.getValue(op + at, 'i32'));
          return id ? d.reg_name(id) : undefined;
        };
        const [segment, base, index] = [reg(8), reg(12), reg(16)];
        const access = Number(m.getValue(op + 33, 'i8'));
        operands.push({
          ...(segment ? { segment } : {}), ...(base ? { base } : {}), ...(index ? { index } : {}),
          scale: Number(m.getValue(op + 20, 'i32')), disp: BigInt(m.getValue(op + 24, 'i64')),
          size: Number(m.getValue(op + 32, 'i8')) & 0xff, read: (access & CS_AC_READ) !== 0, write: (access & CS_AC_WRITE) !== 0,
        });
      }
      out = { operands, addrSize: Number(m.getValue(x86 + X86_ADDR_SIZE, 'i8')) };
      return false;
    });
    return out;
  }

  /** The struct offsets above are Capstone 5.0's: checked once on `movq %r8, -0x8(%rsi,%rcx,8)` (4c 89 44 ce f8). */
  private checkLayout(): void {
    if (this.layoutChecked) return;
    const r = this.readOperands(Uint8Array.of(0x4c, 0x89, 0x44, 0xce, 0xf8), 0x1000n);
    const o = r.operands[0];
    const ok = r.addrSize === 8 && r.operands.length === 1 && o!.base === 'rsi' && o!.index === 'rcx' && o!.scale === 8 && o!.disp === -8n && o!.size === 8 && o!.write && !o!.read;
    if (!ok) throw new Error(`internal: Capstone ${capstoneVersion()} lays out x86 operand details differently from Capstone 5.0 (src/encode/capstone.ts CS_DETAIL_X86)`);
    this.layoutChecked = true;
  }
}

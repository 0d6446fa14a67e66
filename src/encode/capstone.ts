/**
 * Capstone 5 (wasm, `@alexaltea/capstone-js`) behind a small wrapper for
 * AT&T disassembly, used by traces, listings and the debugger, and for the
 * registers an instruction reads and writes (`cs_regs_access`), used by the
 * register-origin tracking of the leak check (src/run/origins.ts).
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

interface CsModule {
  ARCH_X86: number; MODE_64: number; OPT_SYNTAX: number; OPT_SYNTAX_ATT: number; OPT_DETAIL: number; OPT_ON: number;
  Capstone: new (arch: number, mode: number) => CsHandle;
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
    loaded = new Disassembler(handle, detailed);
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

export class Disassembler {
  constructor(private readonly cs: CsHandle, private readonly detailed?: CsHandle) {}

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
}

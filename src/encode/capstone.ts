/**
 * Capstone 5 (wasm, `@alexaltea/capstone-js`) behind a small wrapper for
 * AT&T disassembly, used by traces, listings and the debugger.
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


interface CsModule {
  ARCH_X86: number; MODE_64: number; OPT_SYNTAX: number; OPT_SYNTAX_ATT: number;
  Capstone: new (arch: number, mode: number) => CsHandle;
}
interface CsHandle {
  option(opt: number, value: number): void;
  disasm(bytes: number[] | Uint8Array, address: bigint | number, max?: number): { size: number; mnemonic: string; op_str: string }[];
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
    return new Disassembler(handle);
  })();
  return loading;
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

export class Disassembler {
  constructor(private readonly cs: CsHandle) {}

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
}

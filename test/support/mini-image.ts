/**
 * Hand-made `Image`s for machine tests: a list of statements (bytes written
 * here from the SDM encodings, with the text they stand for) laid out from
 * 0xffffffff81000000, with labels, exception-table entries and stubs.
 */
import type { ByteRange } from '../../src/gas/types.js';
import type { ExtableEntry, HarnessStub, Image, ImageSymbol } from '../../src/image/types.js';

export const MINI_BASE = 0xffffffff81000000n;

export interface MiniStmt {
  label?: string;
  bytes: readonly number[];
  text: string;
}

export interface MiniImageOptions {
  /** [faulting label, fixup label, EX_TYPE_*] */
  extable?: [string, string, number][];
  /** Labels that are harness stubs of kind 'noreturn'. */
  noreturn?: string[];
  file?: string;
}

export function miniImage(stmts: MiniStmt[], opts: MiniImageOptions = {}): Image {
  const file = opts.file ?? 'test/mini.S';
  const bytes: number[] = [];
  const byteMap: ByteRange[] = [];
  const labels = new Map<string, bigint>();
  stmts.forEach((s, i) => {
    const address = MINI_BASE + BigInt(bytes.length);
    if (s.label) labels.set(s.label, address);
    byteMap.push({
      address, size: s.bytes.length, section: '.text', kind: 'insn',
      origin: { pos: { file, line: i + 1 }, includeStack: [], cppStack: [], gasStack: [{ kind: 'macro', name: 'MINI', invokedAt: { file: 'test/caller.S', line: 7 }, includeStack: [], invocation: 'MINI', counter: 0 }], text: s.text },
    });
    bytes.push(...s.bytes);
  });
  const at = (l: string) => {
    const a = labels.get(l);
    if (a === undefined) throw new Error(`no label ${l}`);
    return a;
  };
  const symbols: ImageSymbol[] = [...labels.entries()].map(([name, address]) => ({ name, address, size: 0n, section: '.text', type: 'func', binding: 'global' }));
  const extable: ExtableEntry[] = (opts.extable ?? []).map(([from, to, type], i) => ({
    entryAddress: 0xffffffff82000000n + BigInt(12 * i), insn: at(from), fixup: at(to), type, typeWord: type,
    ...(type === 2 ? { typeName: 'EX_TYPE_FAULT' } : {}),
  }));
  const stubs: HarnessStub[] = (opts.noreturn ?? []).map((name) => ({ name, address: at(name), kind: 'noreturn', description: 'test stub' }));
  return {
    sourceFile: file, profile: 'default',
    sections: [{ name: '.text', address: MINI_BASE, bytes: Uint8Array.from(bytes), flags: { alloc: true, write: false, exec: true }, align: 16 }],
    symbols, extable, stubs, byteMap, cfi: [], absoluteReferences: [],
  };
}

/** Encodings used by the machine tests (Intel SDM Vol. 2). */
export const X = {
  seamcall: { bytes: [0x66, 0x0f, 0x01, 0xcf], text: 'seamcall' },
  tdcall: { bytes: [0x66, 0x0f, 0x01, 0xcc], text: 'tdcall' },
  ret: { bytes: [0xc3], text: 'ret' },
  nop: { bytes: [0x90], text: 'nop' },
  ud2: { bytes: [0x0f, 0x0b], text: 'ud2' },
  int3: { bytes: [0xcc], text: 'int3' },
  /** jmp . (an endless loop) */
  jmpSelf: { bytes: [0xeb, 0xfe], text: 'jmp .' },
  /** mov (%rax),%rbx */
  loadRaxToRbx: { bytes: [0x48, 0x8b, 0x18], text: 'mov (%rax),%rbx' },
  /** mov %rbx,(%rax) */
  storeRbxToRax: { bytes: [0x48, 0x89, 0x18], text: 'mov %rbx,(%rax)' },
  /** mov %rbx,0x10(%rsp) */
  storeAboveRsp: { bytes: [0x48, 0x89, 0x5c, 0x24, 0x10], text: 'mov %rbx,0x10(%rsp)' },
  /** xor %ebx,%ebx */
  clobberRbx: { bytes: [0x31, 0xdb], text: 'xor %ebx,%ebx' },
  std: { bytes: [0xfd], text: 'std' },
  /** push %rax (without the matching pop, RSP stays 8 lower) */
  pushRax: { bytes: [0x50], text: 'push %rax' },
  /** pop %rcx */
  popRcx: { bytes: [0x59], text: 'pop %rcx' },
  /** movabs $0x66cf010f66cf010f,%rax: the SEAMCALL bytes inside an immediate */
  movabsSeamcallBytes: { bytes: [0x48, 0xb8, 0x66, 0x0f, 0x01, 0xcf, 0x66, 0x0f, 0x01, 0xcf], text: 'movabs $0xcf010f66cf010f66,%rax' },
} as const;

/** A `call rel32` to `target` from the statement at `from` (5 bytes). */
export function callRel(from: bigint, target: bigint): MiniStmt {
  const rel = Number(BigInt.asIntN(32, target - (from + 5n)));
  const b = Buffer.alloc(4);
  b.writeInt32LE(rel);
  return { bytes: [0xe8, ...b], text: `call 0x${target.toString(16)}` };
}

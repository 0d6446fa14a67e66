/**
 * The `Image`: what the assembler/linker hands to the machine. Plain data:
 * sections with bytes at their final addresses, symbols, the decoded
 * exception table, harness stubs for symbols the kernel would provide, and a
 * byte map from every byte back to the statement that produced it (its
 * `SourceLocation`: position, include, cpp and GAS expansion stacks).
 * src/image/source-map.ts answers questions over it (address → source,
 * source line → addresses).
 */
import type { ByteRange, SectionFlags, StatementOrigin } from '../gas/types.js';
import type { AbsoluteReference } from '../gas/write.js';

export interface ImageSection {
  name: string;
  address: bigint;
  bytes: Uint8Array;
  flags: SectionFlags;
  align: number;
}

export type SymbolType = 'func' | 'object' | 'notype';
export type SymbolBinding = 'global' | 'local' | 'weak';

export interface ImageSymbol {
  name: string;
  /** Final address; for absolute symbols (`.set x, 5`), the value. */
  address: bigint;
  size: bigint;
  /** Section name, or null for an absolute symbol. */
  section: string | null;
  type: SymbolType;
  binding: SymbolBinding;
  hidden?: boolean;
  /** Present for symbols seamlab supplies (see `stubs`). */
  stub?: boolean;
}

/** EX_TYPE_* values from the tree's asm/extable_fixup_types.h. */
export interface ExtableEntry {
  /** Address of the entry in __ex_table. */
  entryAddress: bigint;
  /** The instruction that may fault. */
  insn: bigint;
  /** Where execution continues after the fault. */
  fixup: bigint;
  /** Low byte of the type word (EX_TYPE_*). */
  type: number;
  /** EX_TYPE_* name when known, e.g. "EX_TYPE_FAULT". */
  typeName?: string;
  /** The whole 32-bit type word (type | imm/reg fields in newer kernels). */
  typeWord: number;
}

/** A symbol the kernel would provide, bound by the linker to code seamlab supplies. */
export interface HarnessStub {
  name: string;
  address: bigint;
  /**
   * 'return-thunk': behaves like `ret` (__x86_return_thunk);
   * 'noreturn': a called function that must not return (e.g. __tdx_hypercall_failed):
   *   reaching it ends the run with a "panic" result naming it;
   * 'function': a harmless function returning 0.
   */
  kind: 'return-thunk' | 'noreturn' | 'function';
  /** Why this stub exists, for listings and reports. */
  description: string;
}

export interface CfiDirective {
  address: bigint;
  directive: string;
  origin: StatementOrigin;
}

export interface Image {
  /** Tree-relative main source file, e.g. "arch/x86/virt/vmx/tdx/seamcall.S". */
  sourceFile: string;
  /** kconfig profile the source was preprocessed with. */
  profile: string;
  sections: ImageSection[];
  symbols: ImageSymbol[];
  extable: ExtableEntry[];
  stubs: HarnessStub[];
  /** Sorted by address; covers every emitted byte. */
  byteMap: ByteRange[];
  /** .cfi_* directives, recorded (not interpreted). */
  cfi: CfiDirective[];
  /**
   * Statements whose bytes hold an absolute address inside the image (a
   * section or a stub): empty for position-independent code such as the
   * TDX assembly, which the silicon oracle relies on to run it elsewhere.
   */
  absoluteReferences: AbsoluteReference[];
}

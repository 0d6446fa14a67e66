/**
 * The contract between the GNU-as front end (src/gas) and the x86 encoder
 * (src/encode). The front end owns statements, symbols, expressions and
 * layout; the encoder owns AT&T operand syntax, instruction forms, GNU as
 * encoding parity and Keystone. Expressions cross the boundary as text
 * (parsed) and come back as values (resolved).
 */

/** A register name in lower case without `%`, e.g. "rax", "r8d", "spl", "rip", "fs". */
export type RegName = string;

/** An unevaluated GNU as expression, exactly as written in the operand (e.g. "TDX_MODULE_rcx", "(.Lfoo\\@) - ."). */
export type ExprText = string;

export type MemSyntax = {
  kind: 'mem';
  segment?: RegName;
  /** Absent for `(%rax)`. */
  disp?: ExprText;
  base?: RegName;
  index?: RegName;
  scale?: 1 | 2 | 4 | 8;
};

export type OperandSyntax =
  | { kind: 'reg'; reg: RegName }
  | { kind: 'imm'; expr: ExprText }
  | MemSyntax
  /** A direct branch/call target: `jmp label`, `call func`. */
  | { kind: 'target'; expr: ExprText }
  /** `jmp *%rax`, `call *0x8(%rax)`. */
  | { kind: 'indirect'; operand: { kind: 'reg'; reg: RegName } | MemSyntax };

export interface ParsedInstruction {
  /** e.g. ["lock"], ["rep"], ["notrack"]. */
  prefixes: string[];
  /** Lower case, as written (suffix kept): "movq", "jc", "xorl". */
  mnemonic: string;
  operands: OperandSyntax[];
}

/** A value the front end computed for an expression. */
export interface ResolvedValue {
  value: bigint;
  /**
   * False when GNU as would not know the value when it chooses the encoding
   * (forward reference, symbol in another section, undefined/external
   * symbol): the encoder must then pick the form GNU as picks for a
   * relocation (e.g. imm32/disp32), never a smaller one.
   */
  known: boolean;
  /**
   * True when the value is an address in a section (a label ± constant),
   * i.e. GNU as would emit a relocation against a symbol; absent/false for
   * an absolute number (including differences of labels in one section).
   * A relocatable value is never given a shrunk form, whatever `known`
   * says. For `x(%rip)` the encoder stores x − end of instruction when x is
   * relocatable or not known (GNU as makes a pc-relative fixup for any
   * symbol), and a known plain number `0x10(%rip)` as is.
   */
  relocatable?: boolean;
}

export type ResolvedMem = {
  kind: 'mem';
  segment?: RegName;
  disp?: ResolvedValue;
  base?: RegName;
  index?: RegName;
  scale?: 1 | 2 | 4 | 8;
};

export type ResolvedOperand =
  | { kind: 'reg'; reg: RegName }
  | { kind: 'imm'; value: ResolvedValue }
  | ResolvedMem
  /** Absolute target address; `known` false when the target is external or in another section. */
  | { kind: 'target'; address: ResolvedValue }
  | { kind: 'indirect'; operand: { kind: 'reg'; reg: RegName } | ResolvedMem };

export interface ResolvedInstruction {
  prefixes: string[];
  mnemonic: string;
  operands: ResolvedOperand[];
}

/** Size variants of a relaxable branch (jmp/jcc). */
export type BranchForm = 'short' | 'near';

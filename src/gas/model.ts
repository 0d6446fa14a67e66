/**
 * The assembler's object model, shaped like GNU as's: a section is a chain
 * of frags; a frag has a fixed part (items whose sizes are known when they
 * are read) and at most one variable tail (alignment, a relaxable branch, a
 * `.skip` whose size depends on layout). Labels point into frags. This shape
 * is not decoration: GNU as folds a label difference at read time only when
 * every frag between the two labels is fixed (`frag_offset_fixed_p`), and
 * that decides instruction forms; and its relaxation walks frags in order
 * with per-frag markers and alignment "regions" (write.c `relax_segment`).
 */
import type { SectionFlags, StatementOrigin } from './types.js';
import type { ParsedInstruction, ResolvedInstruction, BranchForm } from '../encode/types.js';
import type { Expr } from './expr.js';
import type { ErrorWhere } from '../support/source-location.js';

export type SectionType = 'progbits' | 'nobits' | 'note' | 'init_array' | 'fini_array';

export interface Section {
  name: string;
  /** Creation order (GNU as numbers sections this way in the object file). */
  index: number;
  flags: SectionFlags;
  type: SectionType;
  /** Other ELF flag letters as written (M, S, G, o, R …): recorded, not interpreted. */
  extraFlags: string;
  frags: Frag[];
  /** Largest alignment requested in the section, in bytes. */
  align: number;
  /** The statement that requested `align` (when one did). */
  alignOrigin?: StatementOrigin;
  /** Where the section was first named. */
  origin?: StatementOrigin;
}

/** A position in a section at read time: the frag and how many fixed items precede it. */
export interface Loc {
  frag: Frag;
  /** Number of items of `frag` before this position. */
  item: number;
}

export interface DataItem {
  kind: 'data';
  size: number;
  /** Constant bytes (when every value was known when read). */
  bytes?: Uint8Array;
  /** Values resolved after layout: each writes `width` bytes at `at` (offset inside the item). */
  fixups?: DataFixup[];
  /** For `.skip`/`.fill` blocks: what the bytes are (listing). */
  byteKind: 'data' | 'fill';
  origin: StatementOrigin;
}

export interface DataFixup {
  at: number;
  width: number;
  expr: Expr;
  dot: Loc;
}

export interface InsnItem {
  kind: 'insn';
  /** The statement text as assembled. */
  text: string;
  parsed: ParsedInstruction;
  /** Operand expressions, parsed once (index = operand index; undefined where the operand has none). */
  exprs: (Expr | undefined)[];
  /** The instruction as resolved when read (values known then, `known` flags as GNU as would set them). */
  resolved: ResolvedInstruction;
  /** Where `.` is for the operands. */
  dot: Loc;
  /** Length; undefined until the encoder has been asked (lengths are batched). */
  size?: number;
  /** Final bytes, when they depend on nothing decided later (all values known when read). */
  bytes?: Uint8Array;
  origin: StatementOrigin;
  /** For a direct call/loop (fixed form) — not relaxable; kept for listing. */
  branch?: boolean;
  /** Error position of the statement. */
  where: ErrorWhere;
  /** The frag the instruction was read into. */
  frag: Frag;
}

export type Item = DataItem | InsnItem;

export type FragTail =
  /** Open (still filling) or plain fixed frag (rs_fill). */
  | { kind: 'none' }
  /** rs_align / rs_align_code. `fill` 'nop' pads with GNU as's multi-byte NOPs. */
  | { kind: 'align'; alignment: number; max: number; fill: 'nop' | Uint8Array; origin: StatementOrigin }
  /** rs_space: `.skip`/`.fill` whose size (bytes) is resolved during relaxation; `fill` is repeated. */
  | { kind: 'space'; amount: Expr; dot: Loc; fill: Uint8Array; origin: StatementOrigin }
  /** rs_machine_dependent: a relaxable jmp/jcc. */
  | { kind: 'branch'; insn: InsnItem; target: Expr; form: BranchForm; fixedNear: boolean }
  /** rs_org: `.org` / `. = expr`. */
  | { kind: 'org'; target: Expr; dot: Loc; fill: number; origin: StatementOrigin };

export interface Frag {
  section: Section;
  /** Position in the section's frag list. */
  seq: number;
  items: Item[];
  /** Offsets of items (prefix sums), valid when `sizesKnown`. */
  offsets: number[];
  /** Size of the fixed part, valid when `sizesKnown`. */
  fix: number;
  sizesKnown: boolean;
  tail: FragTail;
  // ---- relaxation state (write.c) ----
  address: number;
  lastAddress: number;
  /** Current size of the variable tail. */
  varSize: number;
  relaxMarker: number;
  region: number;
}

export function newFrag(section: Section): Frag {
  const f: Frag = {
    section,
    seq: section.frags.length,
    items: [],
    offsets: [0],
    fix: 0,
    sizesKnown: true,
    tail: { kind: 'none' },
    address: 0,
    lastAddress: -1,
    varSize: 0,
    relaxMarker: 0,
    region: 0,
  };
  section.frags.push(f);
  return f;
}

export type SymbolKind =
  /** Referenced but not (yet) defined. */
  | 'undefined'
  /** A label: a position in a frag. */
  | 'label'
  /** `.set x, 5`: an absolute value. */
  | 'absolute'
  /** `.set x, expr` not reducible when read: evaluated when used. */
  | 'expr'
  /** `.set x, %rax`. */
  | 'register';

export interface GasSymbol {
  name: string;
  kind: SymbolKind;
  /** kind 'label': where; value offset is added (`.set x, label+4`). */
  loc?: Loc;
  offset?: number;
  /** kind 'absolute'. */
  value?: bigint;
  /** kind 'register'. */
  reg?: string;
  /** kind 'expr': the expression and where `.` was. */
  expr?: Expr;
  exprDot?: Loc;
  binding: 'local' | 'global' | 'weak';
  /** `.globl` seen (binding may still be 'weak' if .weak came later). */
  visibility: 'default' | 'hidden' | 'protected' | 'internal';
  type: 'notype' | 'func' | 'object';
  /** `.size` expression. */
  size?: { expr: Expr; dot: Loc };
  /** Where it was defined (label/set) and first used. */
  definedAt?: StatementOrigin;
  usedAt?: StatementOrigin;
  /** Numeric local label instance (`1:`) or `.L` local: never in the symbol table. */
  local: boolean;
  /** `.equiv` / label: redefinition is an error. */
  noRedefine?: boolean;
  /** `.eqv`/`==`: the expression is substituted at each use. */
  eqv?: boolean;
  /** Some expression read so far refers to this symbol. */
  referenced?: boolean;
}

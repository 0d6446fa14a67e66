/**
 * The GNU as statement reader (gas/read.c `read_a_source_file`, cond.c,
 * the macro and repetition drivers): reads statements from the input stack,
 * handles labels, equates, conditionals, `.macro`/`.rept`/`.irp`
 * definitions and expansions, and hands directives (directives.ts) and
 * instructions (instructions.ts) their operand text.
 *
 * The `Assembler` is the working state of one run; once laid out
 * (relax.ts) it is turned into the plain `ObjectFile` (object.ts) that the
 * linker (src/image) reads.
 */
import type { PreprocessedSource } from '../cpp/types.js';
import { SeamlabError } from '../errors.js';
import type { ErrorWhere } from '../support/source-location.js';
import type { StatementOrigin } from './types.js';
import { ExprParser, ExprSyntaxError, type Expr } from './expr.js';
import { evaluate, EvalError, requireAbsolute, type EvalContext, type EvalMode, type Val } from './evaluate.js';
import { FileSource, type InputSource, type Stmt } from './input.js';
import { skipWhite, type MacroDef } from './macros.js';
import { CONDITIONALS, conditional } from './conditionals.js';
import { blockDirective, expandMacro } from './blocks.js';
import { newFrag, type Frag, type GasSymbol, type InsnItem, type Item, type Loc, type Section } from './model.js';
import { x86Layer, type InstructionLayer } from './layer.js';
import { DIRECTIVES, NO_OP_DIRECTIVES } from './directives.js';
import { flushLengths, instructionStatement } from './instructions.js';
import { sectionForName, type SectionSpec } from './sections.js';
import type { ErrorCode } from '../error-codes.js';

export interface AsmLimits {
  /** Bytes of output over all sections (a runaway `.rept`/`.skip` stops here). */
  maxOutputBytes: number;
  /** Statements executed (after macro and repetition expansion). */
  maxStatements: number;
  /** Nested macro expansions (GNU as: 100, "macros nested too deeply"). */
  maxMacroDepth: number;
}

export const DEFAULT_LIMITS: AsmLimits = {
  maxOutputBytes: 16 << 20,
  maxStatements: 2_000_000,
  maxMacroDepth: 100,
};

export interface AssembleOptions {
  layer?: InstructionLayer;
  limits?: Partial<AsmLimits>;
}

export interface AsmWarning {
  message: string;
  where: ErrorWhere;
}

export interface CfiMark {
  dot: Loc;
  directive: string;
  origin: StatementOrigin;
}

/** One executed statement, for listings (`as -al`). */
export interface LoggedStatement {
  /** Its expansion depth (for indenting) is `origin.gasStack.length`. */
  origin: StatementOrigin;
  section: Section;
  /** Position before and after the statement. */
  start: Loc;
  end: Loc;
  /** 'macro' for an invocation (its expansion follows, one level deeper). */
  kind: 'insn' | 'directive' | 'label' | 'macro' | 'rept';
}

export interface MacroEntry {
  def: MacroDef;
  body: Stmt[];
  definedAt: StatementOrigin;
}

export interface CondFrame {
  /** This branch is being assembled. */
  active: boolean;
  /** Some branch of this .if was taken (so .elseif/.else are skipped). */
  taken: boolean;
  /** The enclosing code is being assembled. */
  outer: boolean;
  elseSeen: boolean;
  stmt: Stmt;
  /** Number of macro expansions open when the .if was read. */
  macroNest: number;
}

export class Assembler {
  readonly file: string;
  readonly layer: InstructionLayer;
  readonly limits: AsmLimits;
  readonly sections: Section[] = [];
  current!: Section;
  currentFrag!: Frag;
  previous: Section | undefined;
  readonly sectionStack: { current: Section; previous: Section | undefined }[] = [];
  readonly symbols = new Map<string, GasSymbol>();
  readonly macros = new Map<string, MacroEntry>();
  /** GNU as `macro_number`: macro expansions so far; the value of `\@`. */
  macroNumber = 0;
  private readonly fbInstances = new Map<number, number>();
  /** The input stack: the file, then macro expansions and repetitions. */
  readonly inputs: InputSource[] = [];
  /** Open conditionals, innermost last. */
  readonly conds: CondFrame[] = [];
  readonly warnings: AsmWarning[] = [];
  readonly cfi: CfiMark[] = [];
  readonly log: LoggedStatement[] = [];
  /** Instructions whose length is not known yet (asked for in batches). */
  pendingInsns: InsnItem[] = [];
  outputBytes = 0;
  /** How many symbols were ever set to a register (operands then need a look-up). */
  registerSymbols = 0;
  private statements = 0;
  private ended = false;
  /** The statement being assembled (for positions). */
  stmt!: Stmt;

  constructor(readonly source: PreprocessedSource, opts: AssembleOptions = {}) {
    this.file = source.file;
    this.layer = opts.layer ?? x86Layer;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    // GNU as creates .text, .data and .bss first, in this order.
    const text = this.section({ name: '.text' });
    this.section({ name: '.data' });
    this.section({ name: '.bss' });
    this.switchTo(text);
  }

  // ---- positions and errors -------------------------------------------------

  /** The statement text after its labels (what the item "is"). */
  private rest: string | undefined;

  private lastOrigin: { stmt: Stmt; rest: string | undefined; origin: StatementOrigin } | undefined;

  /** The current statement's origin: one object per statement, shared by its items (the byte map merges their ranges). */
  origin(stmt: Stmt = this.stmt): StatementOrigin {
    const rest = stmt === this.stmt ? this.rest : undefined;
    const last = this.lastOrigin;
    if (last && last.stmt === stmt && last.rest === rest) return last.origin;
    const origin = { ...stmt.location, text: (rest ?? stmt.text).trim() };
    this.lastOrigin = { stmt, rest, origin };
    return origin;
  }

  /** The statement's location with its whole text (labels included), for errors. */
  where(stmt: Stmt = this.stmt): ErrorWhere {
    return { ...stmt.location, text: stmt.text.trim() };
  }

  error(code: ErrorCode, message: string, hint: string, stmt: Stmt = this.stmt, cause?: unknown): SeamlabError {
    return new SeamlabError(code, message, hint, { where: this.where(stmt), cause });
  }

  warn(message: string, stmt: Stmt = this.stmt): void {
    this.warnings.push({ message, where: this.where(stmt) });
  }

  // ---- sections and frags ---------------------------------------------------

  section(spec: SectionSpec): Section {
    const existing = this.sections.find((s) => s.name === spec.name);
    if (existing) {
      if (spec.flagsText !== undefined || spec.type !== undefined) {
        const wanted = sectionForName(spec, existing.index);
        const f = wanted.flags;
        if (f.alloc !== existing.flags.alloc || f.write !== existing.flags.write || f.exec !== existing.flags.exec || wanted.type !== existing.type) {
          this.warn(`ignoring changed section attributes for ${spec.name}`);
        }
      }
      return existing;
    }
    const s = sectionForName(spec, this.sections.length);
    if (this.stmt) s.origin = this.origin();
    newFrag(s);
    this.sections.push(s);
    return s;
  }

  switchTo(s: Section): void {
    if (this.current && this.current !== s) this.previous = this.current;
    this.current = s;
    this.currentFrag = s.frags[s.frags.length - 1]!;
  }

  here(): Loc {
    return { frag: this.currentFrag, item: this.currentFrag.items.length };
  }

  addItem(item: Item, size: number | undefined): void {
    const f = this.currentFrag;
    if (f.section.type === 'nobits' && !(item.kind === 'data' && item.byteKind === 'fill' && isZero(item))) {
      throw this.error('GAS_DATA_IN_BSS', `attempt to initialize memory in a nobits section (${f.section.name})`, 'only .skip/.zero/.space with a zero fill may appear in .bss');
    }
    f.items.push(item);
    if (size === undefined) {
      f.sizesKnown = false;
    } else if (f.sizesKnown) {
      f.fix += size;
      f.offsets.push(f.fix);
    } else {
      // Offsets are recomputed when the pending instruction lengths arrive.
    }
    this.countBytes(size ?? 15);
  }

  countBytes(n: number): void {
    this.outputBytes += n;
    if (this.outputBytes > this.limits.maxOutputBytes) {
      throw this.error('GAS_OUTPUT_LIMIT', `output exceeds ${this.limits.maxOutputBytes} bytes`, 'a .rept/.skip/.fill count is probably wrong; seamlab assembles small kernel files only');
    }
  }

  /** Ends the current frag with a variable tail and opens a new one. */
  closeFrag(tail: Frag['tail']): void {
    this.currentFrag.tail = tail;
    this.currentFrag = newFrag(this.current);
  }

  // ---- symbols --------------------------------------------------------------

  symbol(name: string): GasSymbol {
    let s = this.symbols.get(name);
    if (!s) {
      s = {
        name,
        kind: 'undefined',
        binding: 'local',
        visibility: 'default',
        type: 'notype',
        local: name.startsWith('.L') || name.includes('\x02'),
      };
      this.symbols.set(name, s);
    }
    return s;
  }

  /** A reference from the current statement (first use is kept for "undefined symbol" errors). */
  use(name: string): GasSymbol {
    const s = this.symbol(name);
    if (!s.usedAt && this.stmt) s.usedAt = this.origin();
    return s;
  }

  fbName(n: number, instance: number): string {
    return `.L${n}\x02${instance}`;
  }

  fbRef = (n: number, dir: 'b' | 'f'): string => {
    const cur = this.fbInstances.get(n) ?? 0;
    return this.fbName(n, dir === 'b' ? cur : cur + 1);
  };

  defineLabel(name: string): void {
    const s = this.symbol(name);
    if (s.kind !== 'undefined') {
      throw this.error('GAS_SYMBOL_REDEFINED', `symbol \`${name}' is already defined`, 'rename one of the labels (or use numeric local labels like 1:)');
    }
    s.kind = 'label';
    s.loc = this.here();
    s.offset = 0;
    s.definedAt = this.origin();
  }

  // ---- expressions ----------------------------------------------------------

  /**
   * Parses an expression at `pos` of `text`; returns it and where it ended.
   * Like GNU as's operand(), symbols whose value is known now are folded in
   * as they read: absolute symbols and registers become their current value
   * (`i = i + 1` in a .rept changes later reads, not earlier ones), and a
   * `.eqv` symbol is replaced by its expression. `defer` (for `.eqv` itself)
   * keeps every symbol as a reference.
   */
  parseExprAt(text: string, pos: number, defer = false): { expr: Expr; end: number } {
    const p = new ExprParser(text, pos, { fbRef: this.fbRef, isRegister: (r) => this.layer.isRegister(r) });
    try {
      const parsed = p.parse();
      if (p.truncated) this.warn('bignum truncated to 8 bytes');
      return { expr: defer ? parsed : this.foldKnownSymbols(parsed, 0), end: p.pos };
    } catch (e) {
      if (e instanceof ExprSyntaxError) {
        throw this.error('GAS_BAD_EXPRESSION', `bad expression \`${text.slice(pos).trim()}': ${e.message}`, 'check the operators and parentheses (GNU as syntax)');
      }
      throw e;
    }
  }

  private foldKnownSymbols(e: Expr, depth: number): Expr {
    switch (e.op) {
      case 'sym': {
        const s = this.use(e.name);
        s.referenced = true;
        if (s.kind === 'absolute') return { op: 'num', value: s.value! };
        if (s.kind === 'register') return { op: 'reg', reg: s.reg! };
        if (s.kind === 'expr' && s.eqv) {
          if (depth > 100) throw this.error('GAS_SYMBOL_LOOP', `.eqv symbol \`${s.name}' refers to itself`, 'break the cycle between the .eqv definitions');
          return this.foldKnownSymbols(s.expr!, depth + 1);
        }
        return { op: 'sym', name: e.name, ref: s };
      }
      case 'unary':
        return { ...e, arg: this.foldKnownSymbols(e.arg, depth) };
      case 'bin':
        return { ...e, left: this.foldKnownSymbols(e.left, depth), right: this.foldKnownSymbols(e.right, depth) };
      default:
        return e;
    }
  }

  /** Parses a whole operand text as one expression. */
  parseExpr(text: string, defer = false): Expr {
    const { expr, end } = this.parseExprAt(text, 0, defer);
    if (text.slice(end).trim() !== '') {
      throw this.error('GAS_JUNK', `junk at end of line, first unrecognized character is \`${text.slice(end).trim()[0]}'`, 'remove the extra text or separate statements with ;');
    }
    return expr;
  }

  evalContext(mode: EvalMode, dot: Loc): EvalContext {
    return {
      mode,
      dot,
      lookup: (name) => this.use(name),
      locOffset: (loc) => locOffset(loc),
      fixedDistance: (a, b) => this.fixedDistance(a, b),
      warn: (m) => this.warn(m),
    };
  }

  /** Evaluates when read (GNU as expr()). */
  evalNow(e: Expr, dot: Loc = this.here()): Val {
    try {
      return evaluate(e, this.evalContext('read', dot));
    } catch (err) {
      throw this.positioned(err);
    }
  }

  /** An absolute value required now (`.if`, `.rept`, counts, fills). */
  absolute(e: Expr, what: string): bigint {
    try {
      return requireAbsolute(this.evalNow(e), what);
    } catch (err) {
      throw this.positioned(err);
    }
  }

  positioned(err: unknown): unknown {
    if (err instanceof EvalError) return this.error(err.code, err.message, 'make the expression absolute where GNU as needs a constant', this.stmt, err);
    return err;
  }

  /** frag_offset_fixed_p: byte distance a−b when all frags between them have fixed sizes. */
  fixedDistance(a: Loc, b: Loc): number | undefined {
    if (a.frag.section !== b.frag.section) return undefined;
    const forward = a.frag.seq < b.frag.seq;
    const [first, last] = forward ? [a.frag, b.frag] : [b.frag, a.frag];
    // Decide from the frag kinds first: no need for instruction lengths when a variable frag lies between.
    for (let f = first; f !== last; f = f.section.frags[f.seq + 1]!) if (f.tail.kind !== 'none') return undefined;
    flushLengths(this);
    const aOff = a.frag.offsets[a.item]!;
    const bOff = b.frag.offsets[b.item]!;
    if (a.frag === b.frag) return aOff - bOff;
    let between = 0;
    for (let f = first; f !== last; f = f.section.frags[f.seq + 1]!) between += f.fix;
    return forward ? aOff - (between + bOff) : between + aOff - bOff;
  }

  // ---- the statement loop ---------------------------------------------------

  run(): void {
    this.inputs.push(new FileSource(this.source));
    for (;;) {
      const top = this.inputs[this.inputs.length - 1];
      if (!top || this.ended) break;
      const stmt = top.next();
      if (!stmt) {
        this.endSource(top);
        continue;
      }
      this.stmt = stmt;
      if (++this.statements > this.limits.maxStatements) {
        throw this.error('GAS_STATEMENT_LIMIT', `more than ${this.limits.maxStatements} statements executed`, 'a .rept/.irp count or a recursive macro is probably wrong');
      }
      this.statement(stmt);
    }
    const file = this.inputs[0];
    if (file instanceof FileSource && file.unterminatedComment) this.warn('end of file in comment');
    if (this.conds.length > 0) {
      const c = this.conds[this.conds.length - 1]!;
      throw this.error('GAS_UNBALANCED_IF', 'end of file inside conditional (missing .endif)', 'add the .endif that closes this .if', c.stmt);
    }
    flushLengths(this);
  }

  private endSource(src: InputSource): void {
    this.inputs.pop();
    if (src.kind === 'macro') {
      const open = this.conds.filter((c) => c.macroNest >= this.macroNest() + 1);
      if (open.length > 0) {
        throw this.error('GAS_UNBALANCED_IF', `end of macro ${src.name} inside conditional (missing .endif)`, 'balance .if/.endif inside the macro body', open[0]!.stmt);
      }
    }
  }

  /** Macro expansions open on the input stack. */
  macroNest(): number {
    let n = 0;
    for (const s of this.inputs) if (s.kind === 'macro') n++;
    return n;
  }

  /** Inside a branch that is not assembled. */
  get ignoring(): boolean {
    const c = this.conds[this.conds.length - 1];
    return c !== undefined && !(c.active && c.outer);
  }

  private statement(stmt: Stmt): void {
    this.rest = undefined;
    let text = stmt.text;
    let i = skipWhite(text, 0);
    if (this.ignoring) {
      const m = /^\.([A-Za-z]+)(?![A-Za-z0-9_.$])/.exec(text.slice(i));
      if (m && CONDITIONALS.has(m[1]!.toLowerCase())) conditional(this, m[1]!.toLowerCase(), text.slice(i + m[0].length));
      return;
    }
    // Labels: `name:`, `N:` (numeric local), several per statement.
    for (;;) {
      const rest = text.slice(i);
      let m = /^([0-9]+):/.exec(rest);
      if (m) {
        const n = Number(m[1]);
        const inst = (this.fbInstances.get(n) ?? 0) + 1;
        this.fbInstances.set(n, inst);
        this.defineLabel(this.fbName(n, inst));
        this.record('label', this.here(), `${n}:`);
        i = skipWhite(text, i + m[0].length);
        continue;
      }
      m = /^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*:(?![=:])/.exec(rest);
      if (m) {
        this.defineLabel(m[1]!);
        this.record('label', this.here(), `${m[1]}:`);
        i = skipWhite(text, i + m[0].length);
        continue;
      }
      break;
    }
    text = text.slice(i);
    if (text === '') return;
    this.rest = text;
    // `sym = expr` and `sym == expr`.
    const eq = /^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*(==?)(?!=)\s*/.exec(text);
    if (eq && eq[1] !== '.') {
      const start = this.here();
      this.assign(eq[1]!, text.slice(eq[0].length), eq[2] === '==' ? 'eqv' : 'set');
      this.record('directive', start);
      return;
    }
    if (eq && eq[1] === '.') {
      // `. = expr` is `.org expr`.
      const start = this.here();
      DIRECTIVES.get('org')!(this, text.slice(eq[0].length));
      this.record('directive', start);
      return;
    }
    if (text[0] === '.') {
      const m = /^\.([A-Za-z0-9_.$]*)/.exec(text)!;
      // A lone `.` (or `.` then punctuation): GNU as says "unknown pseudo-op: `.'" too.
      if (m[1] === '') throw this.error('GAS_UNKNOWN_DIRECTIVE', 'unknown pseudo-op: `.\'', 'a directive is a dot followed by its name, e.g. .byte');
      const name = m[1]!.toLowerCase();
      const args = text.slice(m[0].length).replace(/^\s/, '');
      if (CONDITIONALS.has(name)) {
        conditional(this, name, args);
        return;
      }
      const blockHandler = blockDirective(this, name, args);
      if (blockHandler) return;
      const handler = DIRECTIVES.get(name);
      if (handler) {
        const start = this.here();
        handler(this, args.trim());
        this.record('directive', start);
        return;
      }
      if (NO_OP_DIRECTIVES.has(name)) {
        this.record('directive', this.here());
        return;
      }
      const macro = this.macros.get(m[0].toLowerCase());
      if (macro) {
        expandMacro(this, macro, args);
        return;
      }
      if (name.startsWith('cfi_')) {
        const start = this.here();
        this.cfi.push({ dot: start, directive: text.trim(), origin: this.origin() });
        this.record('directive', start);
        return;
      }
      throw this.error('GAS_UNKNOWN_DIRECTIVE', `unknown or unsupported directive \`.${m[1]}'`, 'seamlab implements the GNU as directives kernel assembly uses; see src/gas/directives.ts for the list');
    }
    const word = /^([A-Za-z_.$][A-Za-z0-9_.$]*)/.exec(text);
    if (word) {
      const macro = this.macros.get(word[1]!.toLowerCase());
      if (macro) {
        expandMacro(this, macro, text.slice(word[0].length).replace(/^\s/, ''));
        return;
      }
    }
    const start = this.here();
    instructionStatement(this, text);
    this.record('insn', start);
  }

  record(kind: LoggedStatement['kind'], start: Loc, text?: string): void {
    const origin = text === undefined ? this.origin() : { ...this.origin(), text };
    this.log.push({ origin, section: this.current, start, end: this.here(), kind });
  }

  // ---- equates ---------------------------------------------------------------

  /** `.set`/`.equ`/`=` (set), `.equiv` (equiv: error if defined), `.eqv`/`==` (eqv: lazy). */
  assign(name: string, exprText: string, how: 'set' | 'equiv' | 'eqv'): void {
    if (name === '.') {
      DIRECTIVES.get('org')!(this, exprText);
      return;
    }
    let sym = this.symbol(name);
    if (how === 'equiv' && sym.kind !== 'undefined') {
      throw this.error('GAS_SYMBOL_REDEFINED', `symbol \`${name}' is already defined`, '.equiv refuses to redefine; use .set to allow it');
    }
    if (sym.kind === 'label' || sym.noRedefine) {
      throw this.error('GAS_SYMBOL_REDEFINED', `symbol \`${name}' is already defined`, 'a label cannot be redefined with .set/=; rename one of them');
    }
    const expr = this.parseExpr(exprText, how === 'eqv');
    if (sym.kind !== 'undefined' && sym.referenced) {
      // Redefining a symbol earlier expressions refer to: they keep the old
      // definition (GNU as clones the symbol), later ones see the new one.
      const fresh: GasSymbol = { ...sym, kind: 'undefined', referenced: false, loc: undefined, offset: undefined, value: undefined, reg: undefined, expr: undefined, exprDot: undefined };
      this.symbols.set(name, fresh);
      sym = fresh;
    }
    const dot = this.here();
    sym.definedAt = this.origin();
    sym.eqv = how === 'eqv';
    if (how === 'equiv') sym.noRedefine = true;
    if (how === 'eqv') {
      // Evaluated at each use (read.c: a "forward reference" symbol).
      sym.kind = 'expr';
      sym.expr = expr;
      sym.exprDot = dot;
      return;
    }
    // pseudo_set: fold what GNU as folds when it reads the statement.
    const v = this.evalNow(expr, dot);
    switch (v.k) {
      case 'abs':
        sym.kind = 'absolute';
        sym.value = v.v;
        return;
      case 'reg':
        sym.kind = 'register';
        sym.reg = v.reg;
        this.registerSymbols++;
        return;
      case 'rel':
        if (isSymbolRef(expr) || expr.op === 'dot' || isSymbolPlusConst(expr)) {
          sym.kind = 'label';
          sym.loc = v.loc;
          sym.offset = Number(v.add);
          return;
        }
        break;
    }
    sym.kind = 'expr';
    sym.expr = expr;
    sym.exprDot = dot;
  }

  /** `.end`: stop reading input. */
  end(): void {
    this.ended = true;
  }
}

/** Offset of a read-time position in its section during layout (frag addresses are relaxation's). */
export function locOffset(loc: Loc): number {
  return loc.frag.address + loc.frag.offsets[loc.item]!;
}

function isZero(item: Item): boolean {
  return item.kind === 'data' && (item.bytes?.every((b) => b === 0) ?? true) && !item.fixups;
}

function isSymbolRef(e: Expr): boolean {
  return e.op === 'sym';
}

function isSymbolPlusConst(e: Expr): boolean {
  return e.op === 'bin' && (e.fn === '+' || e.fn === '-') && (e.left.op === 'sym' || e.left.op === 'dot') && e.right.op === 'num';
}


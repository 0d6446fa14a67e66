/**
 * GNU as expressions: syntax (gas/expr.c `operand` and `expr`).
 *
 * Operator ranks are expr.c's `op_rank` for the non-MRI syntax, checked
 * against GNU as 2.40 (test/gas-expr.test.ts):
 *   9  unary - ~ !          8  * / % << >>        7  | & ^ ! (or-not)
 *   5  + -                  4  == != <> < <= > >= 3  &&           2  ||
 * Binary operators of one rank associate to the left.
 *
 * Numbers: decimal, 0x hex, 0b binary, leading-0 octal; `Nb`/`Nf` refer to
 * numeric local labels (resolved by the caller through `fbRef` at the time
 * the statement is read, because a later `N:` changes what `Nb` means).
 */
import { SeamlabError } from '../errors.js';
import type { GasSymbol } from './model.js';

export type BinOp =
  | '*' | '/' | '%' | '<<' | '>>'
  | '|' | '&' | '^' | '!'
  | '+' | '-'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&&' | '||';

export type Expr =
  | { op: 'num'; value: bigint }
  /**
   * A symbol. `ref` is the symbol as it was when the expression was read
   * (set by the assembler): a later `.set` of the same name does not change
   * what an earlier expression meant.
   */
  | { op: 'sym'; name: string; ref?: GasSymbol }
  | { op: 'dot' }
  | { op: 'reg'; reg: string }
  | { op: 'unary'; fn: '-' | '~' | '!'; arg: Expr }
  | { op: 'bin'; fn: BinOp; left: Expr; right: Expr };

const RANK: Record<BinOp, number> = {
  '*': 8, '/': 8, '%': 8, '<<': 8, '>>': 8,
  '|': 7, '&': 7, '^': 7, '!': 7,
  '+': 5, '-': 5,
  '==': 4, '!=': 4, '<': 4, '<=': 4, '>': 4, '>=': 4,
  '&&': 3,
  '||': 2,
};

export interface ExprParseOptions {
  /** Maps a numeric local label reference (`1b` → (1, 'b')) to the symbol name it means now. */
  fbRef?: (n: number, dir: 'b' | 'f') => string;
  /** Register names accepted after `%` (lower case, without `%`). */
  isRegister?: (name: string) => boolean;
}

/** Thrown for malformed expressions; the caller adds the position. */
export class ExprSyntaxError extends Error {}

const NAME_START = /[A-Za-z_.$]/;
const NAME_PART = /[A-Za-z0-9_.$]/;

export function isNameStart(c: string | undefined): boolean {
  return c !== undefined && NAME_START.test(c);
}
export function isNamePart(c: string | undefined): boolean {
  return c !== undefined && NAME_PART.test(c);
}

const MASK64 = (1n << 64n) - 1n;
/** Two's-complement 64-bit value as a signed BigInt (GNU as `offsetT`). */
export const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
export const u64 = (v: bigint): bigint => v & MASK64;

export class ExprParser {
  pos: number;
  /** Set when a number did not fit in 64 bits (GNU as: "bignum truncated"). */
  truncated = false;

  constructor(readonly text: string, start = 0, readonly opts: ExprParseOptions = {}) {
    this.pos = start;
  }

  private skip(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  private peek(k = 0): string | undefined {
    return this.text[this.pos + k];
  }

  /** Parses a whole expression starting at `pos`. */
  parse(): Expr {
    return this.binary(1);
  }

  private binary(minRank: number): Expr {
    let left = this.unary();
    for (;;) {
      const save = this.pos;
      const op = this.operator();
      if (op === undefined || RANK[op] < minRank) {
        this.pos = save;
        return left;
      }
      const right = this.binary(RANK[op] + 1);
      left = { op: 'bin', fn: op, left, right };
    }
  }

  private operator(): BinOp | undefined {
    this.skip();
    const c = this.peek();
    const d = this.peek(1);
    const take = (op: BinOp, n: number): BinOp => {
      this.pos += n;
      return op;
    };
    switch (c) {
      case '*': return take('*', 1);
      case '/': return take('/', 1);
      case '%': return take('%', 1);
      case '^': return take('^', 1);
      case '+': return take('+', 1);
      case '-': return take('-', 1);
      case '<':
        if (d === '<') return take('<<', 2);
        if (d === '=') return take('<=', 2);
        if (d === '>') return take('!=', 2);
        return take('<', 1);
      case '>':
        if (d === '>') return take('>>', 2);
        if (d === '=') return take('>=', 2);
        return take('>', 1);
      case '=':
        if (d === '=') return take('==', 2);
        return undefined;
      case '!':
        if (d === '=') return take('!=', 2);
        return take('!', 1);
      case '&':
        if (d === '&') return take('&&', 2);
        return take('&', 1);
      case '|':
        if (d === '|') return take('||', 2);
        return take('|', 1);
      default:
        return undefined;
    }
  }

  private unary(): Expr {
    this.skip();
    const c = this.peek();
    if (c === '-' || c === '~' || c === '!') {
      this.pos++;
      const arg = this.unary();
      return { op: 'unary', fn: c, arg };
    }
    if (c === '+') {
      this.pos++;
      return this.unary();
    }
    return this.primary();
  }

  private primary(): Expr {
    this.skip();
    const c = this.peek();
    if (c === undefined) throw new ExprSyntaxError('missing operand');
    if (c === '(') {
      this.pos++;
      const e = this.binary(1);
      this.skip();
      if (this.peek() !== ')') throw new ExprSyntaxError("missing ')'");
      this.pos++;
      return e;
    }
    if (c >= '0' && c <= '9') return this.number();
    if (c === '%') {
      const m = /^%([A-Za-z][A-Za-z0-9]*)/.exec(this.text.slice(this.pos));
      if (m && (this.opts.isRegister?.(m[1]!.toLowerCase()) ?? true)) {
        this.pos += m[0].length;
        return { op: 'reg', reg: m[1]!.toLowerCase() };
      }
      throw new ExprSyntaxError(`bad register name \`${m ? m[0] : '%'}'`);
    }
    if (c === '"') {
      // A quoted symbol name.
      const end = this.text.indexOf('"', this.pos + 1);
      if (end < 0) throw new ExprSyntaxError('missing closing quote');
      const name = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { op: 'sym', name };
    }
    if (isNameStart(c)) {
      let j = this.pos + 1;
      while (isNamePart(this.text[j])) j++;
      const name = this.text.slice(this.pos, j);
      this.pos = j;
      if (name === '.') return { op: 'dot' };
      return { op: 'sym', name };
    }
    throw new ExprSyntaxError(`invalid character \`${c}' in expression`);
  }

  private number(): Expr {
    const rest = this.text.slice(this.pos);
    let m: RegExpExecArray | null;
    // Numeric local label references: `1b`, `12f` (not `0b101`, which is binary).
    if ((m = /^([0-9]+)([bf])(?![A-Za-z0-9_$.])/.exec(rest)) && !/^0b[01]/.test(rest)) {
      const n = Number(m[1]);
      if (!this.opts.fbRef) throw new ExprSyntaxError(`local label reference \`${m[0]}' is not allowed here`);
      this.pos += m[0].length;
      return { op: 'sym', name: this.opts.fbRef(n, m[2] as 'b' | 'f') };
    }
    let value: bigint;
    if ((m = /^0[xX]([0-9a-fA-F]+)/.exec(rest))) value = BigInt('0x' + m[1]);
    else if ((m = /^0[bB]([01]+)/.exec(rest))) value = BigInt('0b' + m[1]);
    else if ((m = /^0([0-9]+)/.exec(rest))) {
      // A leading 0 means octal; GNU as stops at 8 or 9 and reports junk.
      const oct = /^0([0-7]*)/.exec(rest)!;
      if (oct[0].length !== m[0].length) throw new ExprSyntaxError(`junk in number \`${m[0]}' (octal)`);
      value = BigInt('0o' + m[1]);
    }
    else if ((m = /^[0-9]+/.exec(rest))) value = BigInt(m[0]);
    else throw new ExprSyntaxError('bad number');
    if (isNamePart(rest[m[0].length]) && !/^0[xX]$/.test(m[0])) {
      // e.g. `08` (not octal) or `1x`: GNU as rejects these.
      throw new ExprSyntaxError(`bad number \`${rest.slice(0, m[0].length + 1)}'`);
    }
    this.pos += m[0].length;
    if (value > MASK64) {
      this.truncated = true;
      value = u64(value);
    }
    return { op: 'num', value };
  }
}

/** Parses `text` as one whole expression (trailing blanks allowed). */
export function parseExpr(text: string, opts: ExprParseOptions = {}): Expr {
  const p = new ExprParser(text, 0, opts);
  const e = p.parse();
  while (p.pos < text.length && (text[p.pos] === ' ' || text[p.pos] === '\t')) p.pos++;
  if (p.pos !== text.length) throw new ExprSyntaxError(`junk \`${text.slice(p.pos)}' after expression`);
  return e;
}

/** Folds two absolute values with GNU as's semantics (expr.c / symbols.c `resolve_symbol_value`). */
export function foldAbs(fn: BinOp, a: bigint, b: bigint, warn: (msg: string) => void): bigint {
  const l = s64(a);
  const r = s64(b);
  const T = -1n;
  switch (fn) {
    case '*': return s64(l * r);
    case '/':
    case '%': {
      let d = r;
      if (d === 0n) {
        warn('division by zero');
        d = 1n;
      }
      if (l === -(1n << 63n) && d === -1n) {
        // GNU as 2.40 dies with SIGFPE here; seamlab refuses instead.
        throw new SeamlabError('GAS_EXPR_OVERFLOW', 'division overflow (-0x8000000000000000 / -1)', 'GNU as crashes on this expression; rewrite it');
      }
      return fn === '/' ? s64(l / d) : s64(l % d);
    }
    case '<<':
    case '>>': {
      if (r < 0n || r > 63n) {
        warn(`shift count out of range (${r} is not between 0 and 63)`);
        return 0n;
      }
      // `>>` is a logical shift on the 64-bit value.
      return fn === '<<' ? s64(l << r) : s64(u64(l) >> r);
    }
    case '|': return s64(l | r);
    case '&': return s64(l & r);
    case '^': return s64(l ^ r);
    case '!': return s64(l | ~r);
    case '+': return s64(l + r);
    case '-': return s64(l - r);
    case '==': return l === r ? T : 0n;
    case '!=': return l !== r ? T : 0n;
    case '<': return l < r ? T : 0n;
    case '<=': return l <= r ? T : 0n;
    case '>': return l > r ? T : 0n;
    case '>=': return l >= r ? T : 0n;
    case '&&': return l !== 0n && r !== 0n ? 1n : 0n;
    case '||': return l !== 0n || r !== 0n ? 1n : 0n;
  }
}

export function foldUnary(fn: '-' | '~' | '!', a: bigint): bigint {
  const v = s64(a);
  switch (fn) {
    case '-': return s64(-v);
    case '~': return s64(~v);
    case '!': return v === 0n ? 1n : 0n;
  }
}


/**
 * `#if` / `#elif` expressions with C semantics on the 64-bit intmax_t and
 * uintmax_t of x86-64 (C11 6.10.1, as GNU cpp implements them):
 *
 * - integer literals in decimal, octal, hex and binary with U/L/LL suffixes;
 *   a literal that does not fit intmax_t is unsigned;
 * - the usual arithmetic conversions (one unsigned operand makes the
 *   operation unsigned); comparisons and logical operators yield signed 0/1;
 * - `>>` of a negative signed value is arithmetic; a negative shift count
 *   shifts the other way; shifting by 64 or more gives 0 (or -1);
 * - `&&`, `||` and `?:` do not evaluate the operand they skip, so a
 *   division by zero there is not an error;
 * - identifiers left after macro expansion are 0; character constants are
 *   signed chars (x86), multi-character constants are ints.
 */

export interface IfValue {
  /** Two's-complement bits, 0 <= v < 2^64. */
  v: bigint;
  unsigned: boolean;
}

const MASK = (1n << 64n) - 1n;
const SIGN = 1n << 63n;

export function trunc(v: bigint): bigint {
  return v & MASK;
}
export function signedOf(v: bigint): bigint {
  return v & SIGN ? v - (1n << 64n) : v;
}

export class IfExprError extends Error {}

export interface ExprToken {
  kind: 'number' | 'char' | 'name' | 'punct' | 'string' | 'header' | 'other' | 'eof';
  text: string;
}

export interface ExprHost {
  /** Next token, macro-expanded, padding skipped; `eof` at the end of the directive. */
  next(): ExprToken;
  /** Next token with macro expansion suppressed (operand of `defined`). */
  nextUnexpanded(): ExprToken;
  isDefined(name: string): boolean;
  /** `__has_include` / `__has_include_next` with the operand token (header or string). */
  hasInclude(operand: ExprToken, next: boolean): boolean;
  /** Reports a diagnostic that does not stop evaluation (gcc pedwarns). */
  warn(message: string): void;
}

/** Evaluates one #if expression; throws IfExprError with gcc's wording on a bad expression. */
export function evaluateIf(host: ExprHost): boolean {
  const p = new Parser(host);
  if (p.peek().kind === 'eof') throw new IfExprError('#if with no expression');
  const v = p.comma(false);
  const t = p.peek();
  if (t.kind !== 'eof') {
    if (t.kind === 'punct' && t.text === ')') throw new IfExprError("missing '(' in expression");
    if (t.kind === 'punct' && t.text === ':') throw new IfExprError("':' without preceding '?'");
    throw new IfExprError(`missing binary operator before token "${t.text}"`);
  }
  return v.v !== 0n;
}

const ASSIGN = new Set(['=', '*=', '/=', '%=', '+=', '-=', '<<=', '>>=', '&=', '^=', '|=', '++', '--', '->', '.', '[', ']', '{', '}', ';', '...', '#', '##']);

class Parser {
  private look: ExprToken | undefined;

  constructor(private readonly host: ExprHost) {}

  peek(): ExprToken {
    if (!this.look) this.look = this.host.next();
    return this.look;
  }
  take(): ExprToken {
    const t = this.peek();
    this.look = undefined;
    return t;
  }
  private isOp(t: ExprToken, ...ops: string[]): boolean {
    return t.kind === 'punct' && ops.includes(t.text);
  }

  comma(skip: boolean): IfValue {
    let v = this.cond(skip);
    while (this.isOp(this.peek(), ',')) {
      this.take();
      v = this.cond(skip);
    }
    return v;
  }

  cond(skip: boolean): IfValue {
    const c = this.binary(0, skip);
    if (!this.isOp(this.peek(), '?')) return c;
    this.take();
    const taken = c.v !== 0n;
    const a = this.comma(skip || !taken);
    if (!this.isOp(this.peek(), ':')) {
      const t = this.peek();
      throw new IfExprError(t.kind === 'eof' ? "'?' without following ':'" : `missing ':' before token "${t.text}"`);
    }
    this.take();
    const b = this.cond(skip || taken);
    const unsigned = a.unsigned || b.unsigned;
    return { v: taken ? a.v : b.v, unsigned };
  }

  private static readonly LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  binary(level: number, skip: boolean): IfValue {
    if (level >= Parser.LEVELS.length) return this.unary(skip);
    let lhs = this.binary(level + 1, skip);
    const ops = Parser.LEVELS[level]!;
    for (;;) {
      const t = this.peek();
      if (!(t.kind === 'punct' && ops.includes(t.text))) return lhs;
      this.take();
      const op = t.text;
      if (op === '&&' || op === '||') {
        const shortCircuit = op === '&&' ? lhs.v === 0n : lhs.v !== 0n;
        const rhs = this.operand(level + 1, skip || shortCircuit, op);
        const res = op === '&&' ? lhs.v !== 0n && rhs.v !== 0n : lhs.v !== 0n || rhs.v !== 0n;
        lhs = { v: res ? 1n : 0n, unsigned: false };
        continue;
      }
      const rhs = this.operand(level + 1, skip, op);
      lhs = binaryOp(op, lhs, rhs, skip, this.host);
    }
  }

  private operand(level: number, skip: boolean, op: string): IfValue {
    const t = this.peek();
    if (t.kind === 'eof') throw new IfExprError(`operator '${op}' has no right operand`);
    if (t.kind === 'punct' && (t.text === ')' || (Parser.isBinaryOnly(t.text) && !['+', '-'].includes(t.text)))) {
      throw new IfExprError(`operator '${op}' has no right operand`);
    }
    return this.binary(level, skip);
  }

  private static isBinaryOnly(text: string): boolean {
    return ['||', '&&', '|', '^', '&', '==', '!=', '<', '>', '<=', '>=', '<<', '>>', '*', '/', '%', '?', ':', ','].includes(text);
  }

  unary(skip: boolean): IfValue {
    const t = this.peek();
    if (t.kind === 'punct' && ['+', '-', '~', '!'].includes(t.text)) {
      this.take();
      const n = this.peek();
      if (n.kind === 'eof') throw new IfExprError(`operator '${t.text}' has no right operand`);
      const v = this.unary(skip);
      switch (t.text) {
        case '+':
          return v;
        case '-': {
          const r = trunc(-v.v);
          if (!v.unsigned && v.v === SIGN && !skip) this.host.warn('integer overflow in preprocessor expression');
          return { v: r, unsigned: v.unsigned };
        }
        case '~':
          return { v: trunc(~v.v), unsigned: v.unsigned };
        default:
          return { v: v.v === 0n ? 1n : 0n, unsigned: false };
      }
    }
    return this.primary(skip);
  }

  primary(skip: boolean): IfValue {
    const t = this.take();
    switch (t.kind) {
      case 'number':
        return parseIntLiteral(t.text, this.host);
      case 'char':
        return charConstant(t.text, this.host);
      case 'name': {
        if (t.text === 'defined') return this.defined();
        if (t.text === '__has_include' || t.text === '__has_include_next') return this.hasInclude(t.text === '__has_include_next', skip);
        if (t.text === '__has_attribute' || t.text === '__has_cpp_attribute' || t.text === '__has_builtin' || t.text === '__has_feature' || t.text === '__has_extension') {
          throw new IfExprError(`${t.text} asks about the compiler itself, which seamlab does not model`);
        }
        return { v: 0n, unsigned: false };
      }
      case 'punct':
        if (t.text === '(') {
          if (this.isOp(this.peek(), ')')) throw new IfExprError("missing expression between '(' and ')'");
          const v = this.comma(skip);
          const c = this.take();
          if (!(c.kind === 'punct' && c.text === ')')) {
            throw new IfExprError(c.kind === 'eof' ? "missing ')' in expression" : `missing ')' before "${c.text}"`);
          }
          return v;
        }
        if (ASSIGN.has(t.text)) throw new IfExprError(`token "${t.text}" is not valid in preprocessor expressions`);
        throw new IfExprError(`operator '${t.text}' has no left operand`);
      case 'eof':
        throw new IfExprError('#if with no expression');
      case 'string':
      case 'header':
      case 'other':
        throw new IfExprError(`token "${t.text}" is not valid in preprocessor expressions`);
    }
  }

  private defined(): IfValue {
    let t = this.host.nextUnexpanded();
    let paren = false;
    if (t.kind === 'punct' && t.text === '(') {
      paren = true;
      t = this.host.nextUnexpanded();
    }
    if (t.kind !== 'name') throw new IfExprError('operator "defined" requires an identifier');
    if (paren) {
      const c = this.host.nextUnexpanded();
      if (!(c.kind === 'punct' && c.text === ')')) throw new IfExprError('missing \')\' after "defined"');
    }
    return { v: this.host.isDefined(t.text) ? 1n : 0n, unsigned: false };
  }

  private hasInclude(next: boolean, skip: boolean): IfValue {
    const name = next ? '__has_include_next' : '__has_include';
    let t = this.host.nextUnexpanded();
    if (!(t.kind === 'punct' && t.text === '(')) throw new IfExprError(`missing '(' before "${name}" operand`);
    t = this.host.next();
    if (t.kind !== 'header' && t.kind !== 'string') throw new IfExprError(`operator "${name}" requires a header-name`);
    const found = skip ? false : this.host.hasInclude(t, next);
    const c = this.host.next();
    if (!(c.kind === 'punct' && c.text === ')')) throw new IfExprError(`missing ')' after "${name}" operand`);
    return { v: found ? 1n : 0n, unsigned: false };
  }
}

function binaryOp(op: string, a: IfValue, b: IfValue, skip: boolean, host: ExprHost): IfValue {
  const unsigned = a.unsigned || b.unsigned;
  const cmp = (x: IfValue, y: IfValue): number => {
    const xv = unsigned ? x.v : signedOf(x.v);
    const yv = unsigned ? y.v : signedOf(y.v);
    return xv < yv ? -1 : xv > yv ? 1 : 0;
  };
  const bool = (c: boolean): IfValue => ({ v: c ? 1n : 0n, unsigned: false });
  switch (op) {
    case '==':
      return bool(a.v === b.v);
    case '!=':
      return bool(a.v !== b.v);
    case '<':
      return bool(cmp(a, b) < 0);
    case '>':
      return bool(cmp(a, b) > 0);
    case '<=':
      return bool(cmp(a, b) <= 0);
    case '>=':
      return bool(cmp(a, b) >= 0);
    case '|':
      return { v: a.v | b.v, unsigned };
    case '^':
      return { v: a.v ^ b.v, unsigned };
    case '&':
      return { v: a.v & b.v, unsigned };
    case '+': {
      const r = trunc(a.v + b.v);
      if (!unsigned && !skip && signedOf(a.v) >= 0n === signedOf(b.v) >= 0n && signedOf(r) >= 0n !== signedOf(a.v) >= 0n) host.warn('integer overflow in preprocessor expression');
      return { v: r, unsigned };
    }
    case '-': {
      const r = trunc(a.v - b.v);
      if (!unsigned && !skip && signedOf(a.v) >= 0n !== signedOf(b.v) >= 0n && signedOf(r) >= 0n !== signedOf(a.v) >= 0n) host.warn('integer overflow in preprocessor expression');
      return { v: r, unsigned };
    }
    case '*': {
      if (unsigned) return { v: trunc(a.v * b.v), unsigned };
      const exact = signedOf(a.v) * signedOf(b.v);
      const r = trunc(exact);
      if (!skip && signedOf(r) !== exact) host.warn('integer overflow in preprocessor expression');
      return { v: r, unsigned };
    }
    case '/':
    case '%': {
      if (b.v === 0n) {
        if (skip) return { v: 0n, unsigned };
        throw new IfExprError(`division by zero in #if`);
      }
      if (unsigned) return { v: op === '/' ? a.v / b.v : a.v % b.v, unsigned };
      const x = signedOf(a.v);
      const y = signedOf(b.v);
      // BigInt division truncates toward zero, as C does.
      const r = op === '/' ? x / y : x % y;
      if (op === '/' && x === -SIGN && y === -1n && !skip) host.warn('integer overflow in preprocessor expression');
      return { v: trunc(r), unsigned };
    }
    case '<<':
    case '>>': {
      let left = op === '<<';
      let n: bigint;
      if (!b.unsigned && signedOf(b.v) < 0n) {
        left = !left;
        n = -signedOf(b.v);
      } else n = b.v;
      if (left) {
        if (n >= 64n) return { v: 0n, unsigned: a.unsigned };
        return { v: trunc(a.v << n), unsigned: a.unsigned };
      }
      const neg = !a.unsigned && (a.v & SIGN) !== 0n;
      if (n >= 64n) return { v: neg ? MASK : 0n, unsigned: a.unsigned };
      return { v: neg ? trunc(signedOf(a.v) >> n) : a.v >> n, unsigned: a.unsigned };
    }
  }
  throw new IfExprError(`token "${op}" is not valid in preprocessor expressions`);
}

/** C integer literal (with GNU binary literals); floats are an error, as in gcc. */
export function parseIntLiteral(text: string, host?: Pick<ExprHost, 'warn'>): IfValue {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(text);
  if (!m) {
    if (/^(0[xX][0-9a-fA-F.]*[pP][+-]?\d+|[0-9.]+([eE][+-]?\d+)?)[fFlL]?$/.test(text) && /[.eEpP]/.test(text) && !/^0[xX][0-9a-fA-F]+$/.test(text)) {
      throw new IfExprError('floating constant in preprocessor expression');
    }
    throw new IfExprError(`invalid integer constant "${text}" in #if`);
  }
  const digits = m[1]!;
  const suffix = m[2]!.toLowerCase();
  if (!/^(u?(l|ll)?|(l|ll)u)$/.test(suffix)) throw new IfExprError(`invalid suffix "${m[2]}" on integer constant`);
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (/^0[bB]/.test(digits)) v = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) v = BigInt('0o' + digits.slice(1));
  else v = BigInt(digits);
  let unsigned = suffix.includes('u');
  if (v > MASK) {
    host?.warn('integer constant is too large for its type');
    v = trunc(v);
    unsigned = true;
  } else if (!unsigned && v >= SIGN) {
    if (!/^0/.test(digits) || digits === '0') host?.warn('integer constant is so large that it is unsigned');
    unsigned = true;
  }
  return { v, unsigned };
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, v: 11, b: 8, r: 13, f: 12, a: 7, '\\': 92, "'": 39, '"': 34, '?': 63, e: 27, E: 27 };

/** Value of a character constant as GNU cpp computes it for x86-64 (signed char, 32-bit int and wchar_t). */
export function charConstant(text: string, host?: Pick<ExprHost, 'warn'>): IfValue {
  let body = text;
  let wide = false;
  if (body.startsWith('L')) {
    wide = true;
    body = body.slice(1);
  } else if (/^(u8|u|U)'/.test(body)) {
    wide = !body.startsWith('u8');
    body = body.slice(body.indexOf("'"));
  }
  body = body.slice(1, -1);
  const chars: number[] = [];
  const bytes = Buffer.from(body, 'utf8');
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i]!;
    if (c !== 92) {
      chars.push(c);
      i++;
      continue;
    }
    const e = String.fromCharCode(bytes[i + 1] ?? 0);
    if (e in SIMPLE_ESCAPES) {
      chars.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      let j = i + 1;
      let v = 0;
      while (j < bytes.length && j < i + 4 && bytes[j]! >= 48 && bytes[j]! <= 55) v = v * 8 + (bytes[j++]! - 48);
      chars.push(v);
      i = j;
    } else if (e === 'x') {
      let j = i + 2;
      let v = 0n;
      while (j < bytes.length && /[0-9a-fA-F]/.test(String.fromCharCode(bytes[j]!))) v = v * 16n + BigInt(parseInt(String.fromCharCode(bytes[j++]!), 16));
      if (j === i + 2) throw new IfExprError('\\x used with no following hex digits');
      chars.push(Number(v & (wide ? 0xffffffffn : 0xffn)));
      i = j;
    } else {
      host?.warn(`unknown escape sequence: '\\${e}'`);
      chars.push(bytes[i + 1]!);
      i += 2;
    }
  }
  if (chars.length === 0) throw new IfExprError('empty character constant');
  if (wide) {
    if (chars.length > 1) host?.warn('character constant too long for its type');
    const last = chars[chars.length - 1]!;
    return { v: trunc(BigInt((last << 0) | 0)), unsigned: false };
  }
  if (chars.length === 1) {
    const c = chars[0]! & 0xff;
    return { v: trunc(BigInt(c >= 128 ? c - 256 : c)), unsigned: false };
  }
  if (chars.length > 4) host?.warn('character constant too long for its type');
  else host?.warn('multi-character character constant');
  let v = 0;
  for (const c of chars) v = ((v << 8) | (c & 0xff)) | 0;
  return { v: trunc(BigInt(v)), unsigned: false };
}

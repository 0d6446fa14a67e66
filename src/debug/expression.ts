/**
 * The debugger's expressions: a small C-like language over registers,
 * symbols, the call's struct parameters and memory, as gdb users type them —
 * `$rax`, `rcx`, `__seamcall`, `args->rcx`, `out->r8`, `&out->r9`,
 * `*(u64*)($rsp+8)`, `*(u32*)…`, `(rax >> 32) & 0xff` — parsed by
 * precedence climbing into a tree, then evaluated against a context (the
 * debugger at its current stop). Errors are SeamlabErrors that name the
 * column, with a caret line under the expression.
 *
 * Values are 64-bit unsigned; a typed value keeps its C type so that `*p`
 * reads the pointee's size and `p + 1` steps by it, as in C.
 */
import { SeamlabError } from '../errors.js';
import type { StructLayout } from '../intake/types.js';
import { hexU64 } from '../support/format.js';
import { REGISTER_VIEWS, type RegisterView } from '../support/registers.js';
import { fromLittleEndian } from '../support/memory.js';

export type ExprType =
  | { kind: 'int'; size: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: 'pointer'; to: ExprType | 'void' }
  | { kind: 'struct'; layout: StructLayout };

/** Where a value lives, when it is an lvalue (what `watch` and `set var` need). */
export type Lvalue = { kind: 'register'; name: string; view: RegisterView } | { kind: 'memory'; address: bigint; size: number };

export interface ExprValue {
  value: bigint;
  type: ExprType;
  lvalue?: Lvalue;
}

/** What expressions are evaluated against. */
export interface ExprContext {
  /** A full register's value. */
  register(base: RegisterView['base']): bigint;
  readMemory(address: bigint, size: number): Uint8Array | undefined;
  symbol(name: string): bigint | undefined;
  /** A pointer parameter of the call to a struct (`args`, `out`): its value (0 when NULL) and layout. */
  structParam(name: string): { address: bigint; layout: StructLayout } | undefined;
}

export class ExpressionError extends SeamlabError {
  constructor(readonly expression: string, readonly column: number, message: string, hint: string) {
    super('DEBUG_EXPRESSION', `${message} (column ${column})`, hint, { notes: [expression, `${' '.repeat(column - 1)}^`] });
  }
}

const U64: ExprType = { kind: 'int', size: 8, signed: false };
const MASK64 = (1n << 64n) - 1n;

// ---- lexer -------------------------------------------------------------------

type Tok = { kind: 'num'; value: bigint; col: number } | { kind: 'id'; name: string; dollar: boolean; col: number } | { kind: 'op'; op: string; col: number } | { kind: 'end'; col: number };

const OPS = ['->', '<<', '>>', '(', ')', '*', '&', '+', '-', '/', '%', '|', '^', '~', '!'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9_]+)([uUlL]*)/.exec(src.slice(i))!;
      const digits = m[1]!.replace(/_/g, '');
      if (/^0[xXbB]$/.test(digits)) throw new ExpressionError(src, col, `malformed number ${m[0]}`, 'write numbers as 34, 0x22 or 0b100010');
      if (/[0-9a-zA-Z_]/.test(src[i + m[0].length] ?? '')) throw new ExpressionError(src, col, `malformed number ${src.slice(i).match(/^\w+/)![0]}`, 'write numbers as 34, 0x22 or 0b100010');
      out.push({ kind: 'num', value: BigInt(digits) & MASK64, col });
      i += m[0].length;
      continue;
    }
    if (c === '$' || /[A-Za-z_.]/.test(c)) {
      const m = /^\$?[A-Za-z_.][A-Za-z0-9_.$]*/.exec(src.slice(i));
      if (!m) throw new ExpressionError(src, col, 'expected a register name after $', 'e.g. $rax, $rsp, $rflags');
      out.push({ kind: 'id', name: m[0].replace(/^\$/, ''), dollar: c === '$', col });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(src, col, `unexpected character '${c}'`, 'operators: + - * / % & | ^ ~ << >> -> ( ) and casts like (u64*)');
    out.push({ kind: 'op', op, col });
    i += op.length;
  }
  out.push({ kind: 'end', col: src.length + 1 });
  return out;
}

// ---- types in casts -----------------------------------------------------------

const FIXED_TYPES: Record<string, ExprType> = {};
for (const bits of [8, 16, 32, 64] as const) {
  const size = (bits / 8) as 1 | 2 | 4 | 8;
  for (const n of [`u${bits}`, `uint${bits}_t`, `__u${bits}`]) FIXED_TYPES[n] = { kind: 'int', size, signed: false };
  for (const n of [`s${bits}`, `i${bits}`, `int${bits}_t`, `__s${bits}`]) FIXED_TYPES[n] = { kind: 'int', size, signed: true };
}
const C_WORDS = new Set(['char', 'short', 'int', 'long', 'unsigned', 'signed', 'void']);

function isTypeWord(t: Tok): boolean {
  return t.kind === 'id' && !t.dollar && (t.name in FIXED_TYPES || C_WORDS.has(t.name));
}

// ---- parser -----------------------------------------------------------------------

type Node =
  | { kind: 'num'; value: bigint; col: number }
  | { kind: 'id'; name: string; dollar: boolean; col: number }
  | { kind: 'unary'; op: string; arg: Node; col: number }
  | { kind: 'binary'; op: string; left: Node; right: Node; col: number }
  | { kind: 'cast'; type: ExprType | 'void'; pointer: number; arg: Node; col: number }
  | { kind: 'field'; base: Node; field: string; col: number; fieldCol: number };

const BINARY_PRECEDENCE: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };

class Parser {
  private i = 0;
  constructor(private readonly src: string, private readonly toks: Tok[]) {}

  parse(): Node {
    if (this.peek().kind === 'end') throw new ExpressionError(this.src, 1, 'empty expression', 'e.g. $rax, args->rcx, *(u64*)($rsp+8)');
    const n = this.binary(1);
    const t = this.peek();
    if (t.kind !== 'end') throw this.error(t, `unexpected ${describe(t)}`, 'an operator or the end of the expression was expected here');
    return n;
  }

  private peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  private next(): Tok {
    return this.toks[this.i++]!;
  }

  private isOp(t: Tok, op: string): boolean {
    return t.kind === 'op' && t.op === op;
  }

  private error(t: Tok, message: string, hint: string): ExpressionError {
    return new ExpressionError(this.src, t.col, message, hint);
  }

  private binary(min: number): Node {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const prec = t.kind === 'op' ? BINARY_PRECEDENCE[t.op] : undefined;
      if (prec === undefined || prec < min) return left;
      this.next();
      const right = this.binary(prec + 1);
      left = { kind: 'binary', op: (t as { op: string }).op, left, right, col: t.col };
    }
  }

  private unary(): Node {
    const t = this.peek();
    if (t.kind === 'op' && ['-', '~', '!', '*', '&', '+'].includes(t.op)) {
      this.next();
      return { kind: 'unary', op: t.op, arg: this.unary(), col: t.col };
    }
    if (this.isOp(t, '(') && isTypeWord(this.peek(1))) {
      this.next();
      const { type, pointer } = this.typeName();
      const close = this.next();
      if (!this.isOp(close, ')')) throw this.error(close, `expected ')' after the type, found ${describe(close)}`, 'casts look like (u64*) or (u32)');
      return { kind: 'cast', type, pointer, arg: this.unary(), col: t.col };
    }
    return this.postfix();
  }

  private typeName(): { type: ExprType | 'void'; pointer: number } {
    const words: Tok[] = [];
    while (isTypeWord(this.peek())) words.push(this.next());
    const names = words.map((w) => (w as { name: string }).name);
    let type: ExprType | 'void';
    if (names.length === 1 && names[0]! in FIXED_TYPES) type = FIXED_TYPES[names[0]!]!;
    else if (names.length === 1 && names[0] === 'void') type = 'void';
    else {
      if (names.some((n) => n in FIXED_TYPES || n === 'void')) throw this.error(words[0]!, `not a type: ${names.join(' ')}`, 'use u8/u16/u32/u64, s8…s64, or C types like unsigned long');
      const signed = !names.includes('unsigned');
      const rest = names.filter((n) => n !== 'unsigned' && n !== 'signed');
      const longs = rest.filter((n) => n === 'long').length;
      const size = rest.includes('char') ? 1 : rest.includes('short') ? 2 : longs > 0 ? 8 : 4;
      type = { kind: 'int', size, signed };
    }
    let pointer = 0;
    while (this.isOp(this.peek(), '*')) {
      this.next();
      pointer++;
    }
    if (type === 'void' && pointer === 0) throw this.error(words[0]!, 'cannot cast to void', 'cast to a pointer, e.g. (u64*)');
    return { type, pointer };
  }

  private postfix(): Node {
    let n = this.primary();
    while (this.isOp(this.peek(), '->')) {
      const arrow = this.next();
      const f = this.next();
      if (f.kind !== 'id' || f.dollar) throw this.error(f, `expected a field name after ->, found ${describe(f)}`, 'e.g. args->rcx, out->r8');
      n = { kind: 'field', base: n, field: f.name, col: arrow.col, fieldCol: f.col };
    }
    return n;
  }

  private primary(): Node {
    const t = this.next();
    if (t.kind === 'num') return { kind: 'num', value: t.value, col: t.col };
    if (t.kind === 'id') return { kind: 'id', name: t.name, dollar: t.dollar, col: t.col };
    if (this.isOp(t, '(')) {
      const n = this.binary(1);
      const close = this.next();
      if (!this.isOp(close, ')')) throw this.error(close, `expected ')', found ${describe(close)}`, 'close the parenthesis opened before');
      return n;
    }
    throw this.error(t, `expected a value, found ${describe(t)}`, 'a number, a register ($rax), a symbol, or a field (args->rcx)');
  }
}

function describe(t: Tok): string {
  switch (t.kind) {
    case 'end': return 'the end of the expression';
    case 'num': return `the number ${t.value}`;
    case 'id': return `'${t.dollar ? '$' : ''}${t.name}'`;
    case 'op': return `'${t.op}'`;
  }
}

export function parseExpression(src: string): Node {
  return new Parser(src, lex(src)).parse();
}

// ---- evaluation --------------------------------------------------------------------

function sizeOf(t: ExprType | 'void'): number {
  if (t === 'void') return 1;
  return t.kind === 'int' ? t.size : t.kind === 'pointer' ? 8 : t.layout.size;
}

class Evaluator {
  constructor(private readonly src: string, private readonly ctx: ExprContext) {}

  private error(col: number, message: string, hint: string): ExpressionError {
    return new ExpressionError(this.src, col, message, hint);
  }

  private load(address: bigint, type: ExprType, col: number): ExprValue {
    const size = sizeOf(type);
    const bytes = this.ctx.readMemory(address, size);
    if (!bytes) throw this.error(col, `cannot read ${size} bytes at ${hexU64(address)}: nothing is mapped there`, 'check the address (info registers, p &out->r8)');
    return { value: fromLittleEndian(bytes), type, lvalue: { kind: 'memory', address, size } };
  }

  eval(n: Node): ExprValue {
    switch (n.kind) {
      case 'num':
        return { value: n.value, type: U64 };
      case 'id':
        return this.identifier(n);
      case 'cast': {
        const v = this.eval(n.arg);
        if (v.type.kind === 'struct') throw this.error(n.col, 'cannot cast a struct', 'cast a field or an address instead');
        let type: ExprType | 'void' = n.type;
        for (let i = 0; i < n.pointer; i++) type = { kind: 'pointer', to: type };
        const t = type as ExprType;
        const value = t.kind === 'int' ? v.value & ((1n << BigInt(8 * t.size)) - 1n) : v.value;
        return { value, type: t };
      }
      case 'unary':
        return this.unary(n);
      case 'binary':
        return this.binary(n);
      case 'field':
        return this.field(n);
    }
  }

  private identifier(n: Extract<Node, { kind: 'id' }>): ExprValue {
    const view = REGISTER_VIEWS.get(n.name.toLowerCase());
    if (view && (n.dollar || REGISTER_VIEWS.has(n.name))) {
      const full = this.ctx.register(view.base);
      const value = (full >> BigInt(view.shift)) & ((1n << BigInt(8 * view.size)) - 1n);
      return { value, type: { kind: 'int', size: view.size, signed: false }, lvalue: { kind: 'register', name: n.name.toLowerCase(), view } };
    }
    if (n.dollar) throw this.error(n.col, `no register named $${n.name}`, 'registers: $rax … $r15, $rip, $rflags, $eax, $r8d, $al …');
    const param = this.ctx.structParam(n.name);
    if (param) return { value: param.address, type: { kind: 'pointer', to: { kind: 'struct', layout: param.layout } } };
    const sym = this.ctx.symbol(n.name);
    if (sym !== undefined) return { value: sym, type: U64 };
    throw this.error(n.col, `no register, symbol or struct parameter named ${n.name}`, 'see `info registers`, `info args`, or a function name like __seamcall');
  }

  private unary(n: Extract<Node, { kind: 'unary' }>): ExprValue {
    if (n.op === '&') {
      const v = this.eval(n.arg);
      if (v.lvalue?.kind !== 'memory') throw this.error(n.col, v.lvalue ? 'cannot take the address of a register' : 'cannot take the address of a value that is not in memory', 'take the address of a field (&out->r8) or of memory (&*(u64*)ADDR)');
      return { value: v.lvalue.address, type: { kind: 'pointer', to: v.type } };
    }
    const v = this.eval(n.arg);
    if (n.op === '*') {
      if (v.type.kind !== 'pointer') throw this.error(n.col, 'cannot dereference a value that is not a pointer', 'cast it first: *(u64*)($rsp+8)');
      if (v.type.to === 'void') throw this.error(n.col, 'cannot dereference a void pointer', 'cast it to a sized pointer: *(u64*)…');
      if (v.type.to.kind === 'struct') throw this.error(n.col, `*${v.type.to.layout.name} is a whole struct`, 'print one field at a time: args->rcx (the REPL prints a whole struct with `print *args`)');
      return this.load(v.value, v.type.to, n.col);
    }
    this.requireScalar(v, n.col);
    const value = n.op === '-' ? (-v.value) & MASK64 : n.op === '~' ? ~v.value & MASK64 : n.op === '!' ? (v.value === 0n ? 1n : 0n) : v.value;
    return { value, type: U64 };
  }

  private requireScalar(v: ExprValue, col: number): void {
    if (v.type.kind === 'struct') throw this.error(col, 'a struct is not a number', 'use one of its fields');
  }

  private binary(n: Extract<Node, { kind: 'binary' }>): ExprValue {
    const a = this.eval(n.left);
    const b = this.eval(n.right);
    this.requireScalar(a, n.left.col);
    this.requireScalar(b, n.right.col);
    // C pointer arithmetic: p ± n steps by the pointee's size.
    if ((n.op === '+' || n.op === '-') && a.type.kind === 'pointer' && b.type.kind !== 'pointer') {
      const step = BigInt(sizeOf(a.type.to));
      return { value: (n.op === '+' ? a.value + b.value * step : a.value - b.value * step) & MASK64, type: a.type };
    }
    if (n.op === '+' && b.type.kind === 'pointer' && a.type.kind !== 'pointer') {
      return { value: (b.value + a.value * BigInt(sizeOf(b.type.to))) & MASK64, type: b.type };
    }
    const x = a.value;
    const y = b.value;
    let value: bigint;
    switch (n.op) {
      case '+': value = x + y; break;
      case '-': value = x - y; break;
      case '*': value = x * y; break;
      case '/':
      case '%':
        if (y === 0n) throw this.error(n.right.col, 'division by zero', 'divide by a nonzero value');
        value = n.op === '/' ? x / y : x % y;
        break;
      case '&': value = x & y; break;
      case '|': value = x | y; break;
      case '^': value = x ^ y; break;
      case '<<': value = y >= 64n ? 0n : x << y; break;
      case '>>': value = y >= 64n ? 0n : x >> y; break;
      default: throw this.error(n.col, `unknown operator ${n.op}`, 'operators: + - * / % & | ^ << >>');
    }
    return { value: value & MASK64, type: U64 };
  }

  private field(n: Extract<Node, { kind: 'field' }>): ExprValue {
    const base = this.eval(n.base);
    if (base.type.kind !== 'pointer' || base.type.to === 'void' || base.type.to.kind !== 'struct') {
      throw this.error(n.col, '-> needs a pointer to a struct on its left', 'the struct parameters of the call are named as in the prototype: args->rcx, out->r8');
    }
    const layout = base.type.to.layout;
    const f = layout.fields.find((x) => x.name === n.field);
    if (!f) throw this.error(n.fieldCol, `struct ${layout.name} has no field ${n.field}`, `fields: ${layout.fields.map((x) => x.name).join(', ')}`);
    if (base.value === 0n) throw this.error(n.col, 'the pointer is NULL (this scenario passes no struct)', 'pick a scenario that passes one');
    const size = f.size === 1 || f.size === 2 || f.size === 4 || f.size === 8 ? f.size : 8;
    return this.load(base.value + BigInt(f.offset), { kind: 'int', size, signed: false }, n.fieldCol);
  }
}

/** Parses and evaluates `src` in `ctx`. Throws ExpressionError (a SeamlabError) with the column. */
export function evaluateExpression(src: string, ctx: ExprContext): ExprValue {
  const tree = parseExpression(src);
  return new Evaluator(src, ctx).eval(tree);
}

/** The size in bytes of a value of this type (pointers: 8). */
export function typeSize(t: ExprType): number {
  return sizeOf(t);
}

/** C spelling of a type, for messages and `whatis`-like output. */
export function typeName(t: ExprType | 'void'): string {
  if (t === 'void') return 'void';
  if (t.kind === 'int') return `${t.signed ? 's' : 'u'}${t.size * 8}`;
  if (t.kind === 'struct') return `struct ${t.layout.name}`;
  return `${typeName(t.to)} *`;
}

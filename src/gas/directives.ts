/**
 * The directives seamlab implements, with GNU as 2.40 semantics (read.c,
 * obj-elf.c, tc-i386.c). Block and conditional directives (.macro, .rept,
 * .irp, .if …) are in assembler.ts. Anything not listed here or in
 * NO_OP_DIRECTIVES is an error: seamlab never silently drops a directive.
 */
import type { Assembler } from './assembler.js';
import { parseStringList } from './strings.js';
import { s64, type Expr } from './expr.js';
import { toLittleEndian } from '../support/memory.js';
import type { DataItem, Loc } from './model.js';
import { parseSectionArgs, SectionSpecError, type SectionSpec } from './sections.js';
import { getToken, skipWhite } from './macros.js';

export type DirectiveHandler = (asm: Assembler, args: string) => void;

/**
 * Directives accepted without effect, and why (each is listed in the
 * user documentation of `seamlab build`):
 */
export const NO_OP_DIRECTIVES: ReadonlyMap<string, string> = new Map([
  ['file', 'debug file name: seamlab maps bytes to source through the preprocessor\'s map, not DWARF'],
  ['loc', 'DWARF line information: seamlab maps bytes to source through the preprocessor\'s map'],
  ['loc_mark_labels', 'DWARF line information (see .loc)'],
  ['ident', 'adds a string to .comment, a non-allocated section that is not part of the image'],
  ['code64', 'seamlab assembles 64-bit code only, which is also GNU as\'s default mode for x86-64'],
  ['att_syntax', 'AT&T syntax is the only syntax seamlab reads (and GNU as\'s default)'],
  ['noaltmacro', 'the default macro syntax, which is the only one seamlab implements'],
  ['eject', 'listing page control'],
  ['list', 'listing control'],
  ['nolist', 'listing control'],
  ['psize', 'listing page size'],
  ['title', 'listing title'],
  ['sbttl', 'listing subtitle'],
  ['linefile', 'line bookkeeping of GNU as\'s own macro expansion'],
  ['extern', 'GNU as treats every undefined symbol as external and ignores .extern (read.c s_ignore)'],
]);

function splitArgs(args: string): string[] {
  // Split at top-level commas (outside quotes and parentheses).
  const out: string[] = [];
  let depth = 0;
  let q = false;
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (q) {
      if (c === '\\') i++;
      else if (c === '"') q = false;
      continue;
    }
    if (c === '"') q = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(args.slice(start, i));
      start = i + 1;
    }
  }
  out.push(args.slice(start));
  return out.map((s) => s.trim());
}

/** GNU as's overflow warning for a constant stored in `width` bytes (read.c emit_expr_with_reloc). */
function truncateConstant(asm: Assembler, v: bigint, width: number): bigint {
  if (width >= 8) return v;
  const bits = BigInt(width * 8);
  const high = BigInt.asUintN(64, v) >> bits;
  const allOnes = (1n << (64n - bits)) - 1n;
  if (high !== 0n && high !== allOnes) {
    const use = BigInt.asUintN(width * 8, v);
    asm.warn(`value 0x${BigInt.asUintN(64, v).toString(16)} truncated to 0x${use.toString(16)}`);
  }
  return v;
}

function dataItem(asm: Assembler, fields: Partial<DataItem> & { size: number }): DataItem {
  return { kind: 'data', byteKind: 'data', origin: asm.origin(), ...fields };
}

/** .byte/.short/.long/.quad …: one item per value (so that `.` is each value's own address). */
function cons(width: number): DirectiveHandler {
  return (asm, args) => {
    if (args.trim() === '') return;
    for (const part of splitArgs(args)) {
      if (part === '') throw asm.error('GAS_BAD_ARGUMENT', 'missing expression', 'remove the empty value between commas');
      if (part.startsWith('"')) throw asm.error('GAS_BAD_ARGUMENT', `a string is not a ${width}-byte value: ${part}`, 'use .ascii for strings');
      const expr = asm.parseExpr(part);
      const dot = asm.here();
      const v = asm.evalNow(expr, dot);
      if (v.k === 'abs') {
        asm.addItem(dataItem(asm, { size: width, bytes: toLittleEndian(truncateConstant(asm, v.v, width), width) }), width);
      } else if (v.k === 'reg') {
        throw asm.error('GAS_BAD_ARGUMENT', `register %${v.reg} is not a data value`, 'data directives take expressions');
      } else {
        asm.addItem(dataItem(asm, { size: width, fixups: [{ at: 0, width, expr, dot }] }), width);
      }
    }
  };
}

/**
 * .octa: 16-byte values. GNU as keeps big numbers as bignums; seamlab reads
 * a literal (optionally negated) at full width and any other expression as
 * a 64-bit value sign-extended to 128 bits.
 */
const octa: DirectiveHandler = (asm, args) => {
  if (args.trim() === '') return;
  for (const part of splitArgs(args)) {
    const m = /^(-?)\s*(0[xX][0-9a-fA-F]+|0[bB][01]+|[1-9][0-9]*|0[0-7]*)$/.exec(part);
    let v: bigint;
    if (m) {
      const lit = m[2]!;
      const mag = /^0[0-7]+$/.test(lit) ? BigInt('0o' + lit.slice(1)) : BigInt(lit);
      if (mag >= 1n << 128n) asm.warn('bignum truncated to 16 bytes');
      v = m[1] ? -mag : mag;
    } else {
      v = BigInt.asIntN(64, asm.absolute(asm.parseExpr(part), '.octa'));
    }
    asm.addItem(dataItem(asm, { size: 16, bytes: toLittleEndian(v, 16) }), 16);
  }
};

function ascii(terminate: boolean): DirectiveHandler {
  return (asm, args) => {
    for (const s of parseStringList(asm, args)) {
      const bytes = new Uint8Array(s.length + (terminate ? 1 : 0));
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 0xff;
      asm.addItem(dataItem(asm, { size: bytes.length, bytes }), bytes.length);
    }
  };
}

function fillBytes(asm: Assembler, count: number, byte: number): void {
  asm.countBytes(count);
  const bytes = new Uint8Array(count).fill(byte & 0xff);
  asm.addItem(dataItem(asm, { size: count, bytes, byteKind: 'fill' }), count);
}

/** .skip/.space size [, fill]: a constant size is plain fill; a layout-dependent one is an rs_space frag. */
const space: DirectiveHandler = (asm, args) => {
  const parts = splitArgs(args);
  if (parts.length < 1 || parts[0] === '' || parts.length > 2) throw asm.error('GAS_BAD_ARGUMENT', 'bad .skip/.space operands', 'write .skip size[, fill]');
  const fill = parts.length === 2 ? Number(BigInt.asUintN(8, asm.absolute(asm.parseExpr(parts[1]!), '.skip fill'))) : 0;
  const expr = asm.parseExpr(parts[0]!);
  const dot = asm.here();
  const v = asm.evalNow(expr, dot);
  if (v.k === 'abs') {
    const n = s64(v.v);
    if (n <= 0n) {
      asm.warn('.space repeat count is zero, ignored');
      return;
    }
    if (n > BigInt(asm.limits.maxOutputBytes)) throw asm.error('GAS_OUTPUT_LIMIT', `.skip of ${n} bytes exceeds the output limit`, 'check the size');
    fillBytes(asm, Number(n), fill);
    return;
  }
  if (v.k === 'reg') throw asm.error('GAS_BAD_ARGUMENT', 'register as .skip size', 'use an expression');
  if (asm.current.type === 'nobits' && fill !== 0) throw asm.error('GAS_DATA_IN_BSS', 'non-zero fill in a nobits section', 'use a zero fill');
  asm.closeFrag({ kind: 'space', amount: expr, dot, fill: Uint8Array.of(fill), origin: asm.origin() });
};

/**
 * .fill repeat[, size[, value]]: value's low 4 bytes, little-endian, in size
 * bytes (size ≤ 8). A repeat count that depends on layout becomes an
 * rs_space frag of repeat × size bytes (read.c s_fill).
 */
const fill: DirectiveHandler = (asm, args) => {
  const parts = splitArgs(args);
  if (parts[0] === '' || parts.length > 3) throw asm.error('GAS_BAD_ARGUMENT', 'bad .fill operands', 'write .fill repeat[, size[, value]]');
  const repeatExpr = asm.parseExpr(parts[0]!);
  const dot = asm.here();
  const repeatVal = asm.evalNow(repeatExpr, dot);
  let size = parts.length > 1 && parts[1] !== '' ? Number(asm.absolute(asm.parseExpr(parts[1]!), '.fill size')) : 1;
  const value = parts.length > 2 ? asm.absolute(asm.parseExpr(parts[2]!), '.fill value') : 0n;
  if (size > 8) {
    asm.warn('.fill size clamped to 8');
    size = 8;
  }
  if (size < 0) {
    asm.warn('size negative; .fill ignored');
    return;
  }
  const unit = new Uint8Array(size);
  unit.set(toLittleEndian(value & 0xffffffffn, Math.min(size, 4)).subarray(0, Math.min(size, 4)));
  if (repeatVal.k === 'reg') throw asm.error('GAS_BAD_ARGUMENT', `register %${repeatVal.reg} as .fill repeat count`, 'use an expression');
  if (repeatVal.k !== 'abs') {
    if (size === 0) return;
    const amount: Expr = size === 1 ? repeatExpr : { op: 'bin', fn: '*', left: repeatExpr, right: { op: 'num', value: BigInt(size) } };
    asm.closeFrag({ kind: 'space', amount, dot, fill: unit, origin: asm.origin() });
    return;
  }
  const repeat = repeatVal.v;
  if (repeat < 0n) {
    asm.warn('repeat < 0; .fill ignored');
    return;
  }
  const total = Number(repeat) * size;
  if (total === 0) return;
  if (total > asm.limits.maxOutputBytes) throw asm.error('GAS_OUTPUT_LIMIT', `.fill of ${total} bytes exceeds the output limit`, 'check the repeat count');
  asm.countBytes(total);
  const bytes = new Uint8Array(total);
  for (let i = 0; i < Number(repeat); i++) bytes.set(unit, i * size);
  asm.addItem(dataItem(asm, { size: total, bytes, byteKind: 'fill' }), total);
};

/**
 * s_align: `bytes` = .balign-style (operand is a byte count) or .p2align
 * (a power of two); `fillLen` 1, 2 or 4 (.balignw/.balignl).
 */
function align(bytes: boolean, fillLen: 1 | 2 | 4): DirectiveHandler {
  return (asm, args) => {
    const parts = args.trim() === '' ? [] : splitArgs(args);
    let pow = 0;
    if (parts.length > 0 && parts[0] !== '') {
      let a = asm.absolute(asm.parseExpr(parts[0]!), 'alignment');
      if (bytes) {
        if (a !== 0n) {
          let i = 0;
          while ((a & 1n) === 0n) {
            a >>= 1n;
            i++;
          }
          if (a !== 1n) throw asm.error('GAS_BAD_ALIGNMENT', 'alignment not a power of 2', 'use a power of two');
          pow = i;
        }
      } else {
        pow = Number(a);
      }
    }
    if (pow > 31) {
      asm.warn(`alignment too large: 31 assumed`);
      pow = 31;
    }
    const hasFill = parts.length > 1 && parts[1] !== '';
    const fillValue = hasFill ? asm.absolute(asm.parseExpr(parts[1]!), 'alignment fill') : undefined;
    let max = 0;
    if (parts.length > 2) {
      const m = asm.absolute(asm.parseExpr(parts[2]!), 'alignment maximum');
      if (m < 0n) asm.warn('ignoring out of range alignment maximum');
      else max = Number(m);
    }
    if (fillLen > 1 && !hasFill) asm.warn('expected fill pattern missing');
    const section = asm.current;
    let pattern: Uint8Array | 'nop';
    const nobits = section.type === 'nobits';
    if (nobits && fillValue !== undefined && fillValue !== 0n) asm.warn(`ignoring fill value in section \`${section.name}'`);
    // tc-i386.h md_do_align: no fill, or a one-byte 0x90 fill, in a code section pads with NOPs.
    if (section.flags.exec && !nobits && (fillValue === undefined || (fillLen === 1 && (fillValue & 0xffn) === 0x90n))) pattern = 'nop';
    else if (fillValue === undefined || nobits) pattern = new Uint8Array(1);
    else pattern = toLittleEndian(fillValue, fillLen);
    if (pow > 0) {
      const origin = asm.origin();
      // 2 ** pow, not 1 << pow: .p2align 31 is 2^31, which a 32-bit shift makes negative.
      const alignment = 2 ** pow;
      asm.closeFrag({ kind: 'align', alignment, max, fill: pattern, origin });
      if (alignment > section.align) {
        section.align = alignment;
        section.alignOrigin = origin;
      }
    }
  };
}

function sectionSpec(asm: Assembler, args: string): SectionSpec {
  try {
    const spec = parseSectionArgs(args);
    if (spec.subsection !== undefined && spec.subsection !== '0') {
      throw asm.error('GAS_UNSUPPORTED', `subsection ${spec.subsection} of ${spec.name} is not supported`, 'put the code in a separately named section instead');
    }
    return spec;
  } catch (e) {
    if (e instanceof SectionSpecError) throw asm.error('GAS_BAD_SECTION', e.message, 'write .section name[, "flags"[, @type]]');
    throw e;
  }
}

function enterSection(asm: Assembler, spec: SectionSpec): void {
  try {
    asm.switchTo(asm.section(spec));
  } catch (e) {
    if (e instanceof SectionSpecError) throw asm.error('GAS_BAD_SECTION', e.message, 'write .section name[, "flags"[, @type]]');
    throw e;
  }
}

function simpleSection(name: string): DirectiveHandler {
  return (asm, args) => {
    const sub = args.trim();
    if (sub !== '' && sub !== '0') throw asm.error('GAS_UNSUPPORTED', `subsection ${sub} is not supported`, 'use a separately named section instead');
    enterSection(asm, { name });
  };
}

function symbolNames(asm: Assembler, args: string, what: string): string[] {
  const names = splitArgs(args).filter((n) => n !== '');
  if (names.length === 0) throw asm.error('GAS_BAD_ARGUMENT', `${what} needs a symbol name`, `write ${what} name[, name…]`);
  for (const n of names) {
    if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(n)) throw asm.error('GAS_BAD_ARGUMENT', `bad symbol name \`${n}' for ${what}`, 'use a plain symbol name');
  }
  return names;
}

const TYPE_NAMES: Record<string, 'func' | 'object' | 'notype'> = {
  function: 'func',
  stt_func: 'func',
  object: 'object',
  stt_object: 'object',
  notype: 'notype',
  stt_notype: 'notype',
};

const typeDirective: DirectiveHandler = (asm, args) => {
  const tok = getToken(args, skipWhite(args, 0));
  if (tok.token === '') throw asm.error('GAS_BAD_ARGUMENT', 'missing symbol name in .type', 'write .type name, @function');
  let i = skipWhite(args, tok.end);
  if (args[i] === ',') i = skipWhite(args, i + 1);
  let t = args.slice(i).trim();
  if (/^[@%#]/.test(t)) t = t.slice(1);
  t = t.replace(/^"(.*)"$/, '$1').toLowerCase();
  const type = TYPE_NAMES[t];
  if (!type) throw asm.error('GAS_UNSUPPORTED', `symbol type \`${args.slice(i).trim()}' is not supported`, 'seamlab supports @function, @object and @notype');
  asm.symbol(tok.token).type = type;
};

const sizeDirective: DirectiveHandler = (asm, args) => {
  const tok = getToken(args, skipWhite(args, 0));
  const i = skipWhite(args, tok.end);
  if (tok.token === '' || args[i] !== ',') throw asm.error('GAS_BAD_ARGUMENT', 'expected comma after name in .size', 'write .size name, expression');
  const expr: Expr = asm.parseExpr(args.slice(i + 1));
  asm.symbol(tok.token).size = { expr, dot: asm.here() };
};

function assignDirective(how: 'set' | 'equiv' | 'eqv'): DirectiveHandler {
  return (asm, args) => {
    const tok = getToken(args, skipWhite(args, 0));
    const i = skipWhite(args, tok.end);
    if (tok.token === '' || args[i] !== ',') throw asm.error('GAS_BAD_ARGUMENT', 'expected comma after symbol name', 'write .set name, expression');
    asm.assign(tok.token, args.slice(i + 1).trim(), how);
  };
}

const message = (kind: 'error' | 'warning' | 'print'): DirectiveHandler => (asm, args) => {
  const text = args.trim() === '' ? (kind === 'error' ? '.error directive invoked in source file' : '.warning directive invoked in source file') : parseStringList(asm, args).join('');
  if (kind === 'error') throw asm.error('GAS_ERROR_DIRECTIVE', text, 'the source asked for this error (.error)');
  asm.warn(kind === 'print' ? `.print: ${text}` : text);
};

/** .org target[, fill]: an rs_org frag resolved during relaxation. */
const org: DirectiveHandler = (asm, args) => {
  const parts = splitArgs(args);
  const expr = asm.parseExpr(parts[0]!);
  const fill = parts.length > 1 ? Number(BigInt.asUintN(8, asm.absolute(asm.parseExpr(parts[1]!), '.org fill'))) : 0;
  const dot: Loc = asm.here();
  asm.closeFrag({ kind: 'org', target: expr, dot, fill, origin: asm.origin() });
};

/** .uleb128/.sleb128 of constants (layout-dependent LEB128 is not supported). */
function leb128(signed: boolean): DirectiveHandler {
  return (asm, args) => {
    for (const part of splitArgs(args)) {
      let v = asm.absolute(asm.parseExpr(part), signed ? '.sleb128' : '.uleb128');
      const bytes: number[] = [];
      if (!signed) v = BigInt.asUintN(64, v);
      for (;;) {
        const b = Number(v & 0x7fn);
        v >>= 7n;
        const done = signed ? (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0) : v === 0n;
        bytes.push(done ? b : b | 0x80);
        if (done) break;
      }
      asm.addItem(dataItem(asm, { size: bytes.length, bytes: Uint8Array.from(bytes) }), bytes.length);
    }
  };
}

export const DIRECTIVES: ReadonlyMap<string, DirectiveHandler> = new Map<string, DirectiveHandler>([
  // data
  ['byte', cons(1)],
  ['short', cons(2)],
  ['word', cons(2)],
  ['value', cons(2)],
  ['hword', cons(2)],
  ['2byte', cons(2)],
  ['long', cons(4)],
  ['int', cons(4)],
  ['4byte', cons(4)],
  ['quad', cons(8)],
  ['8byte', cons(8)],
  ['octa', octa],
  ['ascii', ascii(false)],
  ['asciz', ascii(true)],
  ['string', ascii(true)],
  ['skip', space],
  ['space', space],
  ['zero', (asm, args) => space(asm, `${args}, 0`)],
  ['fill', fill],
  ['uleb128', leb128(false)],
  ['sleb128', leb128(true)],
  // alignment (on x86 ELF `.align` counts bytes, like .balign)
  ['align', align(true, 1)],
  ['balign', align(true, 1)],
  ['balignw', align(true, 2)],
  ['balignl', align(true, 4)],
  ['p2align', align(false, 1)],
  ['p2alignw', align(false, 2)],
  ['p2alignl', align(false, 4)],
  ['org', org],
  // sections
  ['text', simpleSection('.text')],
  ['data', simpleSection('.data')],
  ['bss', simpleSection('.bss')],
  ['section', (asm, args) => enterSection(asm, sectionSpec(asm, args))],
  [
    'pushsection',
    (asm, args) => {
      asm.sectionStack.push({ current: asm.current, previous: asm.previous });
      enterSection(asm, sectionSpec(asm, args));
    },
  ],
  [
    'popsection',
    (asm) => {
      const top = asm.sectionStack.pop();
      if (!top) throw asm.error('GAS_BAD_DIRECTIVE', '.popsection without corresponding .pushsection; ignored', 'balance .pushsection/.popsection');
      asm.switchTo(top.current);
      asm.previous = top.previous;
    },
  ],
  [
    'previous',
    (asm) => {
      if (!asm.previous) throw asm.error('GAS_BAD_DIRECTIVE', '.previous without corresponding .section; ignored', 'use .previous after a section change');
      const p = asm.previous;
      asm.switchTo(p);
    },
  ],
  // symbols
  ['globl', (asm, args) => symbolNames(asm, args, '.globl').forEach((n) => { const s = asm.symbol(n); if (s.binding !== 'weak') s.binding = 'global'; })],
  ['global', (asm, args) => symbolNames(asm, args, '.global').forEach((n) => { const s = asm.symbol(n); if (s.binding !== 'weak') s.binding = 'global'; })],
  ['local', (asm, args) => symbolNames(asm, args, '.local').forEach((n) => (asm.symbol(n).binding = 'local'))],
  ['weak', (asm, args) => symbolNames(asm, args, '.weak').forEach((n) => (asm.symbol(n).binding = 'weak'))],
  ['hidden', (asm, args) => symbolNames(asm, args, '.hidden').forEach((n) => (asm.symbol(n).visibility = 'hidden'))],
  ['protected', (asm, args) => symbolNames(asm, args, '.protected').forEach((n) => (asm.symbol(n).visibility = 'protected'))],
  ['internal', (asm, args) => symbolNames(asm, args, '.internal').forEach((n) => (asm.symbol(n).visibility = 'internal'))],
  ['type', typeDirective],
  ['size', sizeDirective],
  ['set', assignDirective('set')],
  ['equ', assignDirective('set')],
  ['equiv', assignDirective('equiv')],
  ['eqv', assignDirective('eqv')],
  // control
  ['end', (asm) => asm.end()],
  ['error', message('error')],
  ['err', (asm) => { throw asm.error('GAS_ERROR_DIRECTIVE', '.err encountered', 'the source asked for this error (.err)'); }],
  ['warning', message('warning')],
  ['print', message('print')],
  [
    'code16',
    (asm) => {
      throw asm.error('GAS_UNSUPPORTED', '.code16 is not supported (seamlab assembles 64-bit code)', 'remove .code16/.code32 sections from what seamlab builds');
    },
  ],
  [
    'code32',
    (asm) => {
      throw asm.error('GAS_UNSUPPORTED', '.code32 is not supported (seamlab assembles 64-bit code)', 'remove .code16/.code32 sections from what seamlab builds');
    },
  ],
]);

/**
 * AT&T instruction syntax as GNU as reads it: prefixes, mnemonic, and
 * operands (`%reg`, `$expr`, `disp(base,index,scale)`, `%seg:mem`, `*op`,
 * bare expressions). Expressions stay text: the front end (src/gas) owns
 * symbols and evaluation.
 *
 * Errors are SeamlabErrors without a position; the front end adds it.
 */
import { SeamlabError } from '../errors.js';
import type { MemSyntax, OperandSyntax, ParsedInstruction } from './types.js';
import { isRegister, regInfo } from './registers.js';
import { PREFIX_BYTES, takesBranchTarget } from './mnemonics.js';

const HINT_SYNTAX = 'write the operand in AT&T syntax: %reg, $imm, disp(base,index,scale), or a label';

function syntaxError(message: string, text: string): SeamlabError {
  return new SeamlabError('ENCODE_SYNTAX', message, HINT_SYNTAX, { notes: [`in: ${text}`] });
}

/**
 * Skips a character constant starting at `i` (the `'`), the way GNU as
 * reads `'c` (and tolerates a closing quote `'c'`); returns the index after it.
 */
function skipCharConstant(s: string, i: number): number {
  let j = i + 1;
  if (s[j] === '\\') j += 2;
  else j += 1;
  if (s[j] === "'") j += 1;
  return j;
}

/** Splits `s` at top-level commas (not inside parentheses, strings or character constants). */
export function splitOperands(s: string, whole: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'") {
      i = skipCharConstant(s, i) - 1;
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw syntaxError('unterminated string in operand', whole);
      i = end;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth < 0) throw syntaxError("unbalanced ')' in operand", whole);
    } else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) throw syntaxError("unbalanced '(' in operand", whole);
  out.push(s.slice(start).trim());
  return out;
}

/** Index of the `(` matching the `)` at `close`, or -1. */
function matchingOpen(s: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    const c = s[i];
    if (c === ')') depth++;
    else if (c === '(') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function parseRegName(text: string, whole: string): string {
  // `%st(1)` is one register in GNU as.
  const name = text.slice(1).trim().toLowerCase().replace(/\s+/g, '');
  if (!isRegister(name)) throw syntaxError(`bad register name \`${text}'`, whole);
  return name;
}

/**
 * The `(base,index,scale)` part. GNU as treats a parenthesized group at the
 * end of an operand as base/index when it starts with `%` or `,` (after
 * blanks); otherwise the parentheses belong to the displacement expression.
 */
function isBaseIndexGroup(inner: string): boolean {
  const t = inner.trim();
  return t.startsWith('%') || t.startsWith(',');
}

function parseBaseIndex(inner: string, mem: MemSyntax, whole: string): void {
  const parts = inner.split(',').map((p) => p.trim());
  if (parts.length > 3) throw syntaxError(`too many parts in \`(${inner})'`, whole);
  const [base, index, scale] = parts;
  if (base) {
    if (!base.startsWith('%')) throw syntaxError(`\`${base}' is not a valid base register`, whole);
    mem.base = parseRegName(base, whole);
    const info = regInfo(mem.base)!;
    if (!(info.cls === 'gpr' && info.bits >= 32) && info.cls !== 'ip') {
      throw syntaxError(`\`%${mem.base}' is not a valid base register`, whole);
    }
  }
  if (index !== undefined && index !== '') {
    if (!index.startsWith('%')) throw syntaxError(`\`${index}' is not a valid index register`, whole);
    mem.index = parseRegName(index, whole);
    const info = regInfo(mem.index)!;
    const vsib = info.cls === 'xmm' || info.cls === 'ymm' || info.cls === 'zmm';
    if (!vsib && !(info.cls === 'gpr' && info.bits >= 32) && mem.index !== 'riz' && mem.index !== 'eiz') {
      throw syntaxError(`\`%${mem.index}' is not a valid index register`, whole);
    }
  }
  if (scale !== undefined && scale !== '') {
    // GNU as evaluates the scale as an expression; in practice it is a literal.
    const n = Number(scale);
    if (n !== 1 && n !== 2 && n !== 4 && n !== 8) {
      throw syntaxError(`expecting scale factor of 1, 2, 4, or 8: got \`${scale}'`, whole);
    }
    if (mem.index === undefined) {
      // GNU as accepts `(%rax,,1)` with a warning ("scale factor without an index register"); keep it simple.
      if (n !== 1) throw syntaxError('scale factor without an index register', whole);
    } else {
      mem.scale = n;
    }
  } else if (mem.index !== undefined) {
    mem.scale = 1;
  }
  if (mem.base === undefined && mem.index === undefined) throw syntaxError(`\`(${inner})' has no registers`, whole);
}

/** Parses a memory operand or a bare expression (`disp(base,index,scale)`, `%seg:…`, `expr`). */
function parseMemory(text: string, whole: string): MemSyntax {
  const mem: MemSyntax = { kind: 'mem' };
  let s = text.trim();
  const seg = /^%\s*([a-z0-9]+)\s*:/i.exec(s);
  if (seg) {
    const name = seg[1]!.toLowerCase();
    if (regInfo(name)?.cls !== 'seg') throw syntaxError(`\`%${name}' is not a segment register`, whole);
    mem.segment = name;
    s = s.slice(seg[0].length).trim();
  }
  if (s === '') throw syntaxError('missing memory operand after segment override', whole);
  if (s.endsWith(')')) {
    const open = matchingOpen(s, s.length - 1);
    if (open < 0) throw syntaxError("unbalanced ')' in operand", whole);
    const inner = s.slice(open + 1, -1);
    if (isBaseIndexGroup(inner)) {
      parseBaseIndex(inner, mem, whole);
      const disp = s.slice(0, open).trim();
      if (disp !== '') mem.disp = disp;
      return mem;
    }
  }
  if (s.startsWith('%')) throw syntaxError(`bad memory operand \`${text}'`, whole);
  mem.disp = s;
  return mem;
}

function parseOperand(text: string, branch: boolean, whole: string): OperandSyntax {
  const t = text.trim();
  if (t === '') throw syntaxError('missing operand', whole);
  if (t.startsWith('*')) {
    const rest = t.slice(1).trim();
    if (rest.startsWith('%') && !/^%\s*[a-z0-9]+\s*:/i.test(rest)) return { kind: 'indirect', operand: { kind: 'reg', reg: parseRegName(rest, whole) } };
    return { kind: 'indirect', operand: parseMemory(rest, whole) };
  }
  if (t.startsWith('$')) {
    const expr = t.slice(1).trim();
    if (expr === '') throw syntaxError('missing immediate after `$\'', whole);
    return { kind: 'imm', expr };
  }
  if (t.startsWith('%') && !/^%\s*[a-z0-9]+\s*:/i.test(t)) return { kind: 'reg', reg: parseRegName(t, whole) };
  // GNU as accepts the I/O port as `(%dx)` (`inb (%dx), %al`): it is the register %dx.
  if (/^\(\s*%dx\s*\)$/i.test(t)) return { kind: 'reg', reg: 'dx' };
  const mem = parseMemory(t, whole);
  if (branch) {
    // GNU as: a bare expression after jmp/call/jcc is the target; a memory
    // operand with registers or a segment there is an indirect branch (GNU as
    // warns "indirect jmp without `*'"; we accept it the same way).
    if (mem.base === undefined && mem.index === undefined && mem.segment === undefined) return { kind: 'target', expr: mem.disp! };
    return { kind: 'indirect', operand: mem };
  }
  return mem;
}

/**
 * Parses one instruction statement, already macro-substituted, e.g.
 * `movq TDX_MODULE_rcx(%rsi), %rcx`, `lock incl (%rdi)`, `jc .Lfoo`.
 */
export function parseInstruction(text: string): ParsedInstruction {
  const whole = text.trim();
  if (whole === '') throw syntaxError('empty instruction', text);
  const prefixes: string[] = [];
  let rest = whole;
  for (;;) {
    const m = /^([a-z_.][a-z0-9_.]*)(?:\s+|$)/i.exec(rest);
    if (!m) throw syntaxError(`expected a mnemonic, got \`${rest.split(/\s/)[0]}'`, whole);
    const word = m[1]!.toLowerCase();
    const after = rest.slice(m[0].length);
    if (word in PREFIX_BYTES && after.trim() !== '' && /^[a-z]/i.test(after.trim()) && !isSegmentPrefixedOperand(word, after)) {
      prefixes.push(word);
      rest = after.trim();
      continue;
    }
    const operandText = after.trim();
    const ops = operandText === '' ? [] : splitOperands(operandText, whole);
    const branch = takesBranchTarget(word);
    return { prefixes, mnemonic: word, operands: ops.map((o) => parseOperand(o, branch, whole)) };
  }
}

/** `fs` followed by `:`… is not a prefix word (it cannot be; operands start with %), kept for clarity. */
function isSegmentPrefixedOperand(word: string, after: string): boolean {
  return /^[a-z]s$/.test(word) && after.trimStart().startsWith(':');
}

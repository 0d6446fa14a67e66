/**
 * GNU as expression semantics: operator set, ranks, 64-bit arithmetic,
 * comparison results (-1/0), logical results (1/0), logical `>>`. Each
 * expression has a hand-written expected value (from the GNU as manual /
 * the facts file) and is also assembled by GNU as live.
 */
import { describe, expect, it } from 'vitest';
import { gasAvailable, gnuAs, hex, seamlabAs } from './support/gas-live.js';
import { parseExpr, ExprSyntaxError } from '../src/gas/expr.js';

/** [expression, expected 64-bit value] — written by hand. */
const CASES: [string, bigint][] = [
  ['3 == 1 + 2', -1n], // + binds tighter than ==
  ['1 + 2 == 3', -1n],
  ['1 || 0 && 0', 1n], // && binds tighter than ||
  ['0 && 0 || 1', 1n],
  ['2 && 3', 1n], // logical results are 1, not -1
  ['0 || 5', 1n],
  ['1 < 2', -1n], // comparisons give -1 for true
  ['2 < 1', 0n],
  ['10 >= 10', -1n],
  ['10 <= 9', 0n],
  ['7 <> 7', 0n],
  ['7 != 8', -1n],
  ['!0', 1n],
  ['!5', 0n],
  ['~0 >> 16', 0x0000ffffffffffffn], // logical shift (facts §1.7)
  ['-1 >> 63', 1n],
  ['-8 >> 1', 0x7ffffffffffffffcn],
  ['0x8000000000000000 >> 1', 0x4000000000000000n],
  ['2 * 3 + 4', 10n],
  ['2 + 3 * 4', 14n],
  ['6 & 3 + 1', 3n], // & (rank 7) above + (rank 5)
  ['1 + 2 << 3', 17n], // << (rank 8) above +
  ['0x10 ^ 0x11 | 1', 1n], // same rank, left to right
  ['5 ! 1', -1n], // binary ! is or-not
  ['-7 / 2', -3n], // signed, truncating
  ['-7 % 2', -1n],
  ['0xffffffffffffffff / 2', 0n], // the value is -1 as a signed 64-bit number
  ['0xffffffffffffffff < 1', -1n], // signed comparison
  ['0xffffffffffffffff + 2', 1n], // wraps at 64 bits
  ['-(2 > 1)', 1n],
  ['3 - - 2', 5n],
  ['0b101', 5n],
  ['010', 8n],
  ['((1 << 63) | (0 + (((~(0)) - ((1) << (40)) + 1) & (~(0) >> (64 - 1 - (47)))))) | (0xFFFF0000)', -0x7fff00ff00010000n], // TDX_SEAMCALL_VMFAILINVALID = 0x8000FF00FFFF0000
];

const u64 = (v: bigint) => BigInt.asUintN(64, v);
const quadHex = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(u64(v));
  return b.toString('hex');
};

describe('GNU as expressions', () => {
  it.each(CASES)('%s = hand-written value', (expr, expected) => {
    const { sections } = seamlabAs(`.data\n.quad ${expr}\n`);
    expect(hex(sections.get('.data'))).toBe(quadHex(expected));
  });

  it('every case gives the same bytes as GNU as 2.40 (live)', () => {
    if (!gasAvailable()) return;
    const text = `.data\n${CASES.map(([e]) => `.quad ${e}`).join('\n')}\n`;
    const gnu = gnuAs(text);
    expect(gnu.errors).toEqual([]);
    expect(hex(seamlabAs(text).sections.get('.data'))).toBe(hex(gnu.sections.get('.data')));
    expect(hex(gnu.sections.get('.data'))).toBe(CASES.map(([, v]) => quadHex(v)).join(''));
  });

  it('division by zero warns and divides by one, like GNU as', () => {
    const { obj, sections } = seamlabAs('.data\n.quad 7/0\n.quad 7%0\n');
    expect(hex(sections.get('.data'))).toBe(quadHex(7n) + quadHex(0n));
    expect(obj.warnings.map((w) => w.message)).toEqual(['division by zero', 'division by zero']);
  });

  it('shift counts outside 0..63 give 0 with a warning', () => {
    const { obj, sections } = seamlabAs('.data\n.quad 1 << 64\n');
    expect(hex(sections.get('.data'))).toBe(quadHex(0n));
    expect(obj.warnings[0]!.message).toMatch(/shift count out of range/);
  });

  it('label differences within a section are absolute; `.` is the value\'s own address', () => {
    const text = '.data\na: .byte 1, 2, 3\nb: .quad b - a\n.long . - a\n.long .\n';
    const { sections } = seamlabAs(text);
    // b - a = 3; `. - a` at offset 11 = 11; `.` at 15 with the section at 0 = 15.
    expect(hex(sections.get('.data'))).toBe('010203' + quadHex(3n) + '0b000000' + '0f000000');
  });

  it('parses register operands and rejects junk', () => {
    expect(parseExpr('%rax == %rax')).toEqual({ op: 'bin', fn: '==', left: { op: 'reg', reg: 'rax' }, right: { op: 'reg', reg: 'rax' } });
    expect(() => parseExpr('1 +')).toThrow(ExprSyntaxError);
    expect(() => parseExpr('(1')).toThrow(ExprSyntaxError);
    expect(() => parseExpr('08')).toThrow(ExprSyntaxError);
  });

  it('register equality in .if (UNWIND_HINT_REGS style)', () => {
    const { sections } = seamlabAs('.data\n.if %rsp == %rsp\n.byte 1\n.endif\n.if %rsp == %rbp\n.byte 2\n.else\n.byte 3\n.endif\n');
    expect(hex(sections.get('.data'))).toBe('0103');
  });
});

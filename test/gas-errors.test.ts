/**
 * User errors from the assembler: each is a SeamlabError with a stable
 * code, the position of the statement (line, include and macro stack) and
 * a hint; none is an internal error.
 */
import { describe, expect, it } from 'vitest';
import { plainSource } from '../src/cpp/types.js';
import { formatError, isSeamlabError, type SeamlabError } from '../src/errors.js';
import { assemble } from '../src/gas/assemble.js';
import { linkObject } from '../src/image/link.js';

function fail(text: string): SeamlabError {
  try {
    linkObject(assemble(plainSource('e.S', text)), { sourceFile: 'e.S', profile: 'default' });
  } catch (e) {
    if (isSeamlabError(e)) return e;
    throw e;
  }
  throw new Error('expected a SeamlabError');
}

describe('assembler errors', () => {
  it('unknown mnemonic: the encoder\'s message at the statement, inside its macro', () => {
    const e = fail('.macro M\nnop\nfrobnicate %rax\n.endm\n.text\nM\n');
    expect(e.code).toMatch(/^ENCODE_/);
    expect(e.message).toContain('frobnicate');
    expect(e.where?.pos.line).toBe(3);
    expect(e.where?.gasStack.map((f) => [f.kind, f.name, f.invokedAt.line])).toEqual([['macro', 'M', 6]]);
  });

  it('a lone `.` is an unknown pseudo-op, as GNU as says (found by the robustness fuzzer: it was a TypeError)', () => {
    expect(fail('1:.\n')).toMatchObject({ code: 'GAS_UNKNOWN_DIRECTIVE', message: 'unknown pseudo-op: `.\'', where: { pos: { line: 1 } } });
    expect(fail('nop\n.+\n')).toMatchObject({ code: 'GAS_UNKNOWN_DIRECTIVE', where: { pos: { line: 2 } } });
  });

  it('alignment padding past the output limit, and a section placed past 2^64, at the statement that asks for it', () => {
    const pad = fail('.text\nnop\n.balign 0x40000000\nnop\n');
    expect(pad).toMatchObject({ code: 'GAS_OUTPUT_LIMIT', where: { pos: { line: 3 } } });
    expect(pad.message).toBe('alignment to 1073741824 bytes pads section .text to 1073741825 bytes, over the output limit of 16777216 bytes');
    // .p2align 31 (the largest GNU as takes) puts the section at 2^64: ld says "section .foo VMA wraps around address space".
    expect(fail('.text\nnop\n.section .foo, "ax"\n.p2align 31\nnop\n')).toMatchObject({ code: 'IMAGE_WRAPS_AROUND', message: 'section .foo placed at 0x10000000000000000 with 1 bytes wraps around the 64-bit address space', where: { pos: { line: 4 } } });
  });

  it('bad operand', () => {
    const e = fail('.text\nmovq %rax, %xyz\n');
    expect(e.where?.pos.line).toBe(2);
    expect(e.code).toMatch(/^(ENCODE_|GAS_)/);
  });

  it('undefined label in a branch and in data', () => {
    expect(fail('.text\njmp nowhere\n')).toMatchObject({ code: 'IMAGE_UNDEFINED_SYMBOL', where: { pos: { line: 2 } } });
    expect(fail('.text\nnop\n.data\n.quad missing + 4\n')).toMatchObject({ code: 'IMAGE_UNDEFINED_SYMBOL', where: { pos: { line: 4 } } });
  });

  it('a numeric label reference with no label in that direction', () => {
    const e = fail('.text\njmp 1b\n1: nop\n');
    expect(e.code).toBe('IMAGE_UNDEFINED_SYMBOL');
    expect(e.message).toContain("local label `1:'");
    expect(e.where?.pos.line).toBe(2);
  });

  it('bad directive arguments', () => {
    expect(fail('.balign 3\n').code).toBe('GAS_BAD_ALIGNMENT');
    expect(fail('.section .x, "q"\n').code).toBe('GAS_BAD_SECTION');
    expect(fail('.data\n.fill %rax, 1, 0\n').code).toBe('GAS_BAD_ARGUMENT');
    expect(fail('.data\n.fill never_defined, 1, 0\n').code).toBe('GAS_UNDEFINED_SYMBOL');
    expect(fail('.data\n.byte 1,,2\n').code).toBe('GAS_BAD_ARGUMENT');
    expect(fail('.data\n.byte (1\n').code).toBe('GAS_BAD_EXPRESSION');
    expect(fail('.type f, @gnu_indirect_function\n').code).toBe('GAS_UNSUPPORTED');
    expect(fail('.text 1\n').code).toBe('GAS_UNSUPPORTED');
    expect(fail('.code32\n').code).toBe('GAS_UNSUPPORTED');
  });

  it('layout errors: .org backwards, non-absolute .skip, self-referencing symbols', () => {
    expect(fail('.data\n.byte 1, 2, 3\n.org 1\n').code).toBe('GAS_BAD_ORG');
    expect(fail('.data\nx: .skip y\n.text\ny: nop\n').code).toBe('GAS_NOT_CONSTANT');
    expect(fail('.set a, b + 1\n.set b, a + 1\n.data\n.quad a\n').code).toBe('GAS_SYMBOL_LOOP');
  });

  it('.org forwards pads', () => {
    const img = linkObject(assemble(plainSource('o.S', '.data\n.byte 1\n.org 4, 0xaa\n.byte 2\n')), { sourceFile: 'o.S', profile: 'p' });
    expect(Buffer.from(img.sections.find((s) => s.name === '.data')!.bytes).toString('hex')).toBe('01aaaaaa02');
  });

  it('formats as file:line: error: … with the expansion stack and a hint', () => {
    const text = formatError(fail('.macro inner\n.byte 1 +\n.endm\n.macro outer\ninner\n.endm\n.data\nouter\n'));
    expect(text.split('\n')).toEqual([
      // The statement as GNU as reads it (blanks around operators removed).
      'e.S:2: error: bad expression `1+\': missing operand [GAS_BAD_EXPRESSION]',
      '    .byte 1+',
      '  in expansion of .macro inner at e.S:5',
      '  in expansion of .macro outer at e.S:8',
      '  hint: check the operators and parentheses (GNU as syntax)',
    ]);
  });
});

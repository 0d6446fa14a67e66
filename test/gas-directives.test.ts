/**
 * Directives, labels, sections and the scrubber, each against bytes
 * written by hand and (for the larger snippets) GNU as live.
 */
import { describe, expect, it } from 'vitest';
import { Scrubber } from '../src/gas/scrub.js';
import { NO_OP_DIRECTIVES } from '../src/gas/directives.js';
import { asmError, gasAvailable, gnuAs, hex, seamlabAs } from './support/gas-live.js';

const data = (text: string) => hex(seamlabAs(`.data\n${text}\n`).sections.get('.data'));
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

function compare(text: string, section = '.data'): string {
  const mine = hex(seamlabAs(text).sections.get(section));
  if (gasAvailable()) {
    const gnu = gnuAs(text);
    expect(gnu.errors).toEqual([]);
    expect(mine).toBe(hex(gnu.sections.get(section)));
  }
  return mine;
}

const error = asmError;

describe('data directives', () => {
  it('.byte .short .word .value .hword .2byte .long .int .4byte .quad .8byte', () => {
    const src = '.byte 1, -1\n.short 0x1234\n.word 2\n.value 3\n.hword 4\n.2byte 5\n.long 6\n.int 7\n.4byte 8\n.quad 9\n.8byte -2\n';
    expect(compare(`.data\n${src}`)).toBe('01ff' + '3412' + '0200' + '0300' + '0400' + '0500' + '06000000' + '07000000' + '08000000' + '0900000000000000' + 'feffffffffffffff');
  });

  it('truncation of constants warns like GNU as (not for values that are sign extensions)', () => {
    const { obj, sections } = seamlabAs('.data\n.byte 0x1ff\n.byte -129\n.short -1, 65535\n');
    expect(hex(sections.get('.data'))).toBe('ff7fffffffff');
    expect(obj.warnings.map((w) => w.message)).toEqual(['value 0x1ff truncated to 0xff']);
  });

  it('.ascii .asciz .string with escapes (octal, all-digit hex, unknown escape keeps its char)', () => {
    expect(compare('.data\n.ascii "a\\x414\\1010\\n"\n.asciz "z"\n.string "q", "r"\n.ascii "\\t\\\\\\"\\z"\n')).toBe(
      '61144130' + '0a' + '7a00' + '7100' + '7200' + '095c227a',
    );
  });

  it('adjacent string literals are concatenated', () => {
    expect(compare('.data\n.ascii "a" "b"\n.ascii "c"  "d", "e"\n.asciz "x" "y"\n')).toBe(ascii('abcdexy\0'));
  });

  it('.skip/.space/.zero/.fill', () => {
    const src = '.skip 2\n.space 2, 0x41\n.zero 1\n.fill 2, 8, 0xffffffffffffffff\n.fill 1, 3, 0x11223344\n.fill 3\n';
    expect(compare(`.data\n${src}`)).toBe('0000' + '4141' + '00' + 'ffffffff00000000'.repeat(2) + '443322' + '000000');
  });

  it('.skip with a zero or negative constant is ignored with a warning', () => {
    const { obj, sections } = seamlabAs('.data\n.skip 0\n.skip -1\n.byte 1\n');
    expect(hex(sections.get('.data'))).toBe('01');
    expect(obj.warnings.map((w) => w.message)).toEqual(['.space repeat count is zero, ignored', '.space repeat count is zero, ignored']);
  });

  it('.uleb128/.sleb128 of constants', () => {
    expect(data('.uleb128 624485\n.sleb128 -123456\n.sleb128 63\n.sleb128 64')).toBe('e58e26' + 'c0bb78' + '3f' + 'c000');
  });
});

describe('labels', () => {
  it('numeric local labels: Nb/Nf refer to the nearest instance', () => {
    const src = '1: .byte 1b - 1b\n.byte 1f - 1b\n1: .byte 1b - .\n.byte 2f - 1b\n2: .byte 0\n';
    // First 1 at 0, second at 2; the byte at 2 is 1b - . = 0; 2f (4) - 1b (2) = 2.
    expect(compare(`.data\n${src}`)).toBe('00' + '02' + '00' + '02' + '00');
  });

  it('several labels in one statement, `name :` with a blank, and labels before directives', () => {
    const src = 'a: b: .byte 1\nc :\n.byte c - a\n740: 740: .byte 740b - a\n';
    expect(compare(`.data\n${src}`)).toBe('01' + '01' + '02');
  });

  it('a label defined twice is an error', () => {
    expect(error('.data\nx:\nx:\n').code).toBe('GAS_SYMBOL_REDEFINED');
  });
});

describe('symbols', () => {
  it('.set/.equ/=/==/.equiv and forward references', () => {
    const src = '.set a, 1\n.equ b, a + 1\nc = b * 2\n.byte a, b, c\n.set a, 5\n.byte a, d\nd = 7\n';
    expect(compare(`.data\n${src}`)).toBe('010204' + '0507');
  });

  it('absolute symbols are read with their value at that point, even in layout-dependent expressions', () => {
    // The early_idt_handler_array pattern of arch/x86/kernel/head_64.S.
    const src = '.text\n0:\ni = 0\n.rept 3\njmp 9f\ni = i + 1\n.fill 0b + i*4 - ., 1, 0xcc\n.endr\n9: nop\n';
    compare(src, '.text');
    expect(hex(seamlabAs(src).sections.get('.text'))).toBe(['eb0acccc', 'eb06cccc', 'eb02cccc', '90'].join(''));
  });

  it('redefining a symbol with .set does not change what earlier expressions meant', () => {
    expect(compare('.data\n.set x, y + 1\n.byte x\n.set x, 10\n.byte x\ny = 2\n')).toBe('030a');
  });

  it('.eqv and == are evaluated at each use', () => {
    expect(compare('.data\nx = 1\n.eqv y, x + 1\n.byte y\nx = 5\n.byte y\nz == x * 2\n.byte z\nx = 7\n.byte z\n')).toBe('0206' + '0a0e');
  });

  it('.equiv refuses to redefine', () => {
    expect(error('.equiv x, 1\n.equiv x, 2\n').code).toBe('GAS_SYMBOL_REDEFINED');
  });

  it('.globl/.weak/.hidden/.type/.size are recorded', () => {
    const { obj } = seamlabAs('.text\n.globl f\n.type f, @function\nf: .byte 0xc3\n.size f, .-f\n.weak w\nw:\n.hidden h\n.globl h\nh:\n.type o STT_OBJECT\no:\n');
    const f = obj.symbols.find((s) => s.name === 'f')!;
    expect([f.binding, f.type]).toEqual(['global', 'func']);
    expect(obj.symbols.find((s) => s.name === 'w')!.binding).toBe('weak');
    expect(obj.symbols.find((s) => s.name === 'h')!.visibility).toBe('hidden');
    expect(obj.symbols.find((s) => s.name === 'o')!.type).toBe('object');
  });
});

describe('sections', () => {
  it('section stack: .pushsection/.popsection/.previous/.section with quoted names and flags', () => {
    const src = '.text\n.byte 1\n.pushsection "__ex_table","a"\n.byte 2\n.pushsection .foo, "aw", @progbits\n.byte 3\n.popsection\n.byte 4\n.popsection\n.byte 5\n.section .foo\n.byte 6\n.previous\n.byte 7\n.data\n.byte 8\n';
    const { obj, sections } = seamlabAs(src);
    expect(hex(sections.get('.text'))).toBe('010507');
    expect(hex(sections.get('__ex_table'))).toBe('0204');
    expect(hex(sections.get('.foo'))).toBe('0306');
    expect(hex(sections.get('.data'))).toBe('08');
    expect(obj.sections.map((s) => s.name)).toEqual(['.text', '.data', '.bss', '__ex_table', '.foo']);
    const flags = (n: string) => obj.sections.find((s) => s.name === n)!.flags;
    expect(flags('__ex_table')).toEqual({ alloc: true, write: false, exec: false });
    expect(flags('.foo')).toEqual({ alloc: true, write: true, exec: false });
  });

  it('default flags follow GNU as for special names, none for others', () => {
    const { obj } = seamlabAs('.section .text.x\n.section .rodata.y\n.section .data.z\n.section .discard.reachable\n.section .noinstr.text, "ax"\n');
    const f = (n: string) => obj.sections.find((s) => s.name === n)!.flags;
    expect(f('.text.x')).toEqual({ alloc: true, write: false, exec: true });
    expect(f('.rodata.y')).toEqual({ alloc: true, write: false, exec: false });
    expect(f('.data.z')).toEqual({ alloc: true, write: true, exec: false });
    expect(f('.discard.reachable')).toEqual({ alloc: false, write: false, exec: false });
    expect(f('.noinstr.text')).toEqual({ alloc: true, write: false, exec: true });
  });

  it('data in .bss is an error, zero fill is fine', () => {
    expect(error('.bss\n.byte 1\n').code).toBe('GAS_DATA_IN_BSS');
    expect(() => seamlabAs('.bss\n.skip 16\n.zero 4\n')).not.toThrow();
  });

  it('.popsection without .pushsection is an error', () => {
    expect(error('.popsection\n').code).toBe('GAS_BAD_DIRECTIVE');
  });
});

describe('directive coverage', () => {
  it('an unknown directive is an error, never skipped', () => {
    const e = error('.data\n.frobnicate 1\n');
    expect(e.code).toBe('GAS_UNKNOWN_DIRECTIVE');
    expect(e.where?.pos.line).toBe(2);
    expect(error('.data\n.incbin "x"\n').code).toBe('GAS_UNKNOWN_DIRECTIVE');
    expect(error('.data\n.altmacro\n').code).toBe('GAS_UNKNOWN_DIRECTIVE');
  });

  it('documented no-op directives are accepted and produce nothing', () => {
    for (const name of NO_OP_DIRECTIVES.keys()) expect(NO_OP_DIRECTIVES.get(name)!.length).toBeGreaterThan(10);
    expect(data('.file "x.c"\n.loc 1 2 3\n.ident "x"\n.code64\n.att_syntax\n.byte 1')).toBe('01');
  });

  it('.cfi_* directives are recorded, not dropped', () => {
    const { obj } = seamlabAs('.text\n.cfi_startproc\n.byte 0x90\n.cfi_def_cfa_offset 16\n.cfi_endproc\n');
    expect(obj.cfi.map((c) => c.directive)).toEqual(['.cfi_startproc', '.cfi_def_cfa_offset 16', '.cfi_endproc']);
  });

  it('.error stops with the message; .warning warns; .end stops reading', () => {
    const e = error('.error "no TDX here"\n');
    expect([e.code, e.message]).toEqual(['GAS_ERROR_DIRECTIVE', 'no TDX here']);
    const { obj, sections } = seamlabAs('.data\n.warning "careful"\n.byte 1\n.end\n.byte 2\n');
    expect(obj.warnings.map((w) => w.message)).toEqual(['careful']);
    expect(hex(sections.get('.data'))).toBe('01');
  });
});

describe('scrubber (GNU as app.c)', () => {
  const scrub = (line: string) => new Scrubber().line(line);
  it('drops comments and collapses blanks, keeping one between symbol characters', () => {
    expect(scrub('\tmovq  %rdi ,  %rax   # comment')).toBe(' movq %rdi,%rax');
    expect(scrub('foo :   nop')).toBe('foo:nop');
    expect(scrub('  / a line comment')).toBe('');
    expect(scrub('mov $1, %eax /* c */ ; nop')).toBe('mov $1,%eax; nop');
    expect(scrub("mov $'a, %al")).toBe('mov $97,%al');
    expect(scrub('.ascii "a  # b"  # c')).toBe('.ascii "a  # b"');
    expect(scrub('C 1 (2)')).toBe('C 1 (2)');
    expect(scrub('C 1 + 2')).toBe('C 1+2');
  });

  it('C comments may span lines', () => {
    const s = new Scrubber();
    expect(s.line('.byte 1 /* start')).toBe('.byte 1');
    expect(s.line('still comment')).toBe('');
    expect(s.line('end */ .byte 2')).toBe('.byte 2');
    expect(compare('.data\n.byte 1 /* start\n.byte 9\n end */ .byte 2\n')).toBe('0102');
  });
});

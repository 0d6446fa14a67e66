/**
 * Linked snippets against GNU as + ld at the same addresses: the cases
 * where GNU as leaves work to the linker (relocations) and seamlab resolves
 * it in one step — RIP-relative operands, addresses in immediates, calls
 * and jumps across sections, data pointing across sections.
 */
import { describe, expect, it } from 'vitest';
import { plainSource } from '../src/cpp/types.js';
import { assemble } from '../src/gas/assemble.js';
import { linkObject } from '../src/image/link.js';
import { gnuLink } from './support/image-oracle.js';
import { hasCommand, requireOracle } from './support/oracles.js';

const HAVE = requireOracle('GNU as/ld', hasCommand('as') && hasCommand('ld') && hasCommand('objcopy') && hasCommand('readelf'), 'apt-get install binutils');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function same(text: string): void {
  const image = linkObject(assemble(plainSource('s.S', text)), { sourceFile: 's.S', profile: 'test' });
  const gnu = gnuLink(text);
  expect(image.sections.filter((s) => s.name !== '.seamlab.stubs').map((s) => [s.name, s.address.toString(16)])).toEqual(gnu.sections.map((s) => [s.name, s.address.toString(16)]));
  for (const g of gnu.sections) expect(hex(image.sections.find((s) => s.name === g.name)!.bytes), g.name).toBe(hex(g.bytes));
  for (const g of gnu.symbols) expect(image.symbols.find((s) => s.name === g.name)?.address.toString(16), g.name).toBe(g.address.toString(16));
}

describe.skipIf(!HAVE)('linked snippets = GNU as + ld', () => {
  it('RIP-relative operands to labels before, after and in other sections', () => {
    same('.text\nback: nop\nlea back(%rip), %rax\nlea fwd(%rip), %rbx\nmovq data_word(%rip), %rcx\nmovl $1, fwd+4(%rip)\ncmpb $0, data_word+1(%rip)\nfwd: ret\n.data\ndata_word: .quad 0\n');
  });

  it('addresses as immediates and displacements (R_X86_64_32S / 64)', () => {
    same('.text\nf: mov $f, %rax\nmovq $g, %rdi\nmovabs $g, %rsi\nmov $(g - f), %ecx\nmovq table(,%rax,8), %rdx\ng: ret\n.section .rodata,"a"\ntable: .quad f, g\n');
  });

  it('calls and jumps within and across sections, to stubs', () => {
    same('.text\ncall helper\njmp other\njmp __x86_return_thunk\nhelper: ret\n.section .noinstr.text, "ax"\nother: call helper\njmp helper\ncall __tdx_hypercall_failed\n');
  });

  it('data across sections: relative entries, absolute pointers, differences', () => {
    same('.text\n1: nop\n2: ret\n.pushsection "__ex_table","a"\n.balign 4\n.long (1b) - .\n.long (2b) - .\n.long 1\n.popsection\n.data\n.quad 1b, 2b + 1\n.long 2b - 1b\n.byte 2b - 1b\n');
  });

  it('ALTERNATIVE-style replacement sections and layout-dependent padding, linked', () => {
    same(`.macro ALTERNATIVE oldinstr, newinstr, ft_flags
 740: \\oldinstr ; 741: .skip -(((744f-743f)-(741b-740b)) > 0) * ((744f-743f)-(741b-740b)),0x90 ;742: .pushsection .altinstructions,"a" ; .long 740b - . ; .long 743f - . ; .4byte \\ft_flags ; .byte 742b-740b ; .byte 744f-743f ; .popsection ; .pushsection .altinstr_replacement,"ax" ; 743: \\newinstr ; 744: .popsection ;
.endm
.text
f: ALTERNATIVE "call helper", "lfence; call helper; nop", 0x101
ALTERNATIVE "jmp 1f; 1:", "", 7
helper: ret
`);
  });
});

/**
 * Layout: alignment padding (GNU as's NOP patterns), jump relaxation to GNU
 * as's fixed point, layout-dependent `.skip` (the kernel's ALTERNATIVE),
 * and instruction forms that depend on what is known when a statement is
 * read. Compared with GNU as live; a few expectations are written by hand.
 */
import { describe, expect, it } from 'vitest';
import { codePadding } from '../src/gas/nops.js';
import { gasAvailable, gnuAs, hex, seamlabAs } from './support/gas-live.js';

function compareText(text: string, sections = ['.text']): void {
  if (!gasAvailable()) return;
  const gnu = gnuAs(text);
  expect(gnu.errors).toEqual([]);
  const mine = seamlabAs(text);
  for (const s of sections) expect(hex(mine.sections.get(s)), s).toBe(hex(gnu.sections.get(s)));
}

describe('code alignment padding', () => {
  it('hand-checked NOP patterns (tc-i386.c alt_patt)', () => {
    expect(hex(codePadding(1))).toBe('90');
    expect(hex(codePadding(3))).toBe('0f1f00');
    expect(hex(codePadding(11))).toBe('66662e0f1f840000000000');
    expect(hex(codePadding(12))).toBe('66662e0f1f840000000000' + '90');
    expect(hex(codePadding(100)).slice(0, 4)).toBe('eb62'); // jmp over 98 bytes of NOPs
  });

  it('every gap from 1 to 130 bytes matches GNU as', () => {
    const parts: string[] = ['.text'];
    for (let n = 1; n <= 130; n++) parts.push(`.fill ${256 - n}, 1, 0xcc`, '.balign 256', 'int3', '.balign 256, 0xcc');
    compareText(parts.join('\n'));
  });

  it('large gaps use jmp rel32 over the padding', () => {
    compareText('.text\nint3\n.balign 4096\nint3\n');
  });

  it('.balign with fill 0x90 in code pads with NOPs; other fills, .balignw/l and data sections use the pattern', () => {
    const src = '.text\nint3\n.balign 16, 0x90\nint3\n.p2align 4, 0x90\nint3\n.balign 8,0x91\nint3\n.balign 16,0x90,5\nint3\n.p2align 4,,15\n int3\n int3\n .balignw 8,0x90\n int3\n int3\n .balignw 8, 0x1234\n .balignl 16, 0x12345678\n.data\n.byte 1\n.balign 8\n.byte 2\n.balign 4,0x1234\n.byte 3\n.balign 4,,2\n.byte 5\n.section .foo,"a"\nint3\n.balign 8,0x90\n';
    compareText(src, ['.text', '.data', '.foo']);
  });

  it('alignment records the section alignment', () => {
    const { obj } = seamlabAs('.text\n.balign 64\n.data\n.p2align 3\n');
    expect(obj.sections.find((s) => s.name === '.text')!.align).toBe(64);
    expect(obj.sections.find((s) => s.name === '.data')!.align).toBe(8);
  });
});

describe('jump relaxation', () => {
  it('short/near at the rel8 boundary, forward and backward', () => {
    const src = ['.text'];
    for (const n of [124, 125, 126, 127, 128, 129]) {
      src.push(`jmp 1f`, `.fill ${n}, 1, 0x90`, '1:', `jc 2f`, `.fill ${n}, 1, 0x90`, '2:');
      src.push('3:', `.fill ${n}, 1, 0x90`, 'jmp 3b', '4:', `.fill ${n}, 1, 0x90`, 'jnz 4b');
    }
    compareText(src.join('\n'));
  });

  it('cascading growth and alignment between branch and target', () => {
    const src = ['.text'];
    for (let k = 0; k < 6; k++) src.push(`jmp L${k}`, '.fill 20, 1, 0x90');
    src.push('.balign 32', '.fill 10, 1, 0x90');
    for (let k = 0; k < 6; k++) src.push(`L${k}:`, 'nop');
    src.push('.fill 60, 1, 0x90', 'jmp L0', '.p2align 4', 'jz L5');
    compareText(src.join('\n'));
  });

  it('jumps to global symbols relax; to weak, undefined or absolute targets stay near', () => {
    const src = '.text\n.globl foo\njmp foo\njmp bar\njmp baz\nnop\nfoo: nop\n.weak bar\nbar: nop\n.globl baz\n.hidden baz\nbaz: nop\njmp .+5\n';
    const { obj } = seamlabAs(src);
    const tails = obj.sections[0]!.frags.filter((f) => f.tail === 'branch').map((f) => f.form);
    expect(tails).toEqual(['short', 'near', 'short', 'short']);
    // GNU as leaves the weak jump's displacement to the linker (R_X86_64_PLT32 bar-4); linked, it is 4.
    expect(hex(seamlabAs(src).sections.get('.text'))).toBe('eb08' + 'e904000000' + 'eb03' + '90909090' + 'eb03');
  });

  it('a seeded random mix of branches, labels, fills and alignments matches GNU as', () => {
    let seed = 0x5eed;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let trial = 0; trial < 8; trial++) {
      const src = ['.text'];
      const labels = 24;
      for (let i = 0; i < 160; i++) {
        const r = rnd(10);
        if (r < 3) src.push(`${['jmp', 'jz', 'jnc', 'jle'][rnd(4)]} L${rnd(labels)}`);
        else if (r < 5) src.push(`.fill ${rnd(90)}, 1, 0x90`);
        else if (r < 6) src.push(`.balign ${[2, 4, 8, 16, 32][rnd(5)]}`);
        else if (r < 7) src.push(`.p2align ${rnd(6)},,${rnd(12)}`);
        else if (r < 8) src.push('call L' + rnd(labels));
        else src.push('nop');
        if (rnd(7) === 0 && labels > 0) src.push(`L${rnd(labels)}_${i}:`);
      }
      for (let k = 0; k < labels; k++) src.splice(1 + rnd(src.length - 1), 0, `L${k}:`);
      compareText(src.join('\n'));
    }
  });
});

describe('layout-dependent .skip (ALTERNATIVE)', () => {
  const ALTERNATIVE = `.macro altinstr_entry orig alt ft_flags orig_len alt_len
 .long \\orig - .
 .long \\alt - .
 .4byte \\ft_flags
 .byte \\orig_len
 .byte \\alt_len
.endm
.macro ALTERNATIVE oldinstr, newinstr, ft_flags
 740: \\oldinstr ; 741: .skip -(((744f-743f)-(741b-740b)) > 0) * ((744f-743f)-(741b-740b)),0x90 ;742: .pushsection .altinstructions,"a" ; altinstr_entry 740b,743f,\\ft_flags,742b-740b,744f-743f ; .popsection ; .pushsection .altinstr_replacement,"ax" ; 743: \\newinstr ; 744: .popsection ;
.endm
`;
  it('pads the original to the replacement\'s length with 0x90 (6.12 asm/alternative.h)', () => {
    const src = `${ALTERNATIVE}.text\nALTERNATIVE "ret", "lfence; ret", 0x12\nnop\nALTERNATIVE "jmp 1f; nop; nop; 1:", "xor %eax, %eax", 0x34\n`;
    const { sections } = seamlabAs(src);
    // ret (1) padded to lfence;ret (4): c3 90 90 90; then nop.
    expect(hex(sections.get('.text')).slice(0, 10)).toBe('c390909090');
    compareText(src, ['.text', '.altinstr_replacement']);
  });
});

describe('layout-dependent .fill', () => {
  it('a repeat count known only after layout (GNU as turns it into an rs_space of repeat × size bytes)', () => {
    compareText('.text\n0: nop\njmp 2f\n1:\n.fill 1b-0b, 2, 0x1234\n.fill 1b-0b, 1, 0x90\n.fill 3f-2f\n2: nop\n3:\n');
  });
});

describe('what is known when a statement is read', () => {
  it('forward-referenced and expression symbols get the imm32 form; folded ones the short form', () => {
    const src = '.set x, y+1\n.set y, 2\n.text\nadd $x, %eax\nadd $y, %eax\n.set z, 3\nadd $z, %eax\n.set w, z+1\nadd $w, %eax\nadd $(1f-0f), %eax\n0: nop\n1:\nadd $(1b-0b), %eax\n.equ q, 1b - 0b\nadd $q, %eax\n';
    const { sections } = seamlabAs(src);
    expect(hex(sections.get('.text'))).toBe('0503000000' + '83c002' + '83c003' + '83c004' + '0501000000' + '90' + '83c001' + '83c001');
    compareText(src);
  });

  it('a label difference across a relaxable jump is not known when read', () => {
    const src = '.text\n0: jmp 2f\n1:\nadd $(1b-0b), %eax\n2: add $(2b-0b), %ecx\n';
    compareText(src);
  });
});

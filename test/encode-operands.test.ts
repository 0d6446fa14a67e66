/** AT&T operand parsing (src/encode/operands.ts); expectations written by hand from GNU as's syntax. */
import { describe, expect, it } from 'vitest';
import { parseInstruction } from '../src/encode/x86.js';
import { SeamlabError } from '../src/errors.js';

describe('parseInstruction', () => {
  it('reads a memory operand with a symbolic displacement', () => {
    expect(parseInstruction('movq TDX_MODULE_rcx(%rsi), %rcx')).toEqual({
      prefixes: [],
      mnemonic: 'movq',
      operands: [
        { kind: 'mem', disp: 'TDX_MODULE_rcx', base: 'rsi' },
        { kind: 'reg', reg: 'rcx' },
      ],
    });
  });

  it('keeps an immediate expression as text, parentheses and all', () => {
    expect(parseInstruction('mov $((((1) << (63)) | (0xFFFF0000))), %rax').operands).toEqual([
      { kind: 'imm', expr: '((((1) << (63)) | (0xFFFF0000)))' },
      { kind: 'reg', reg: 'rax' },
    ]);
  });

  it('tells a parenthesized displacement from a base register group', () => {
    expect(parseInstruction('mov (8+4)(%rax), %ecx').operands[0]).toEqual({ kind: 'mem', disp: '(8+4)', base: 'rax' });
    expect(parseInstruction('mov (%rax), %ecx').operands[0]).toEqual({ kind: 'mem', base: 'rax' });
    // No register group at all: the whole thing is an absolute address expression.
    expect(parseInstruction('mov (8+4), %ecx').operands[0]).toEqual({ kind: 'mem', disp: '(8+4)' });
  });

  it('reads base, index and scale, index-only and blank forms', () => {
    expect(parseInstruction('movzbl (%rax,%rbx,4), %ecx').operands[0]).toEqual({ kind: 'mem', base: 'rax', index: 'rbx', scale: 4 });
    expect(parseInstruction('lea 0x10(,%rcx,8), %rax').operands[0]).toEqual({ kind: 'mem', disp: '0x10', index: 'rcx', scale: 8 });
    expect(parseInstruction('lea ( %rax , %rcx ), %rdx').operands[0]).toEqual({ kind: 'mem', base: 'rax', index: 'rcx', scale: 1 });
    expect(parseInstruction('mov -8(%rbp), %rax').operands[0]).toEqual({ kind: 'mem', disp: '-8', base: 'rbp' });
  });

  it('reads %rip-relative operands', () => {
    expect(parseInstruction('leaq foo+8(%rip), %rdi').operands[0]).toEqual({ kind: 'mem', disp: 'foo+8', base: 'rip' });
  });

  it('reads segment overrides', () => {
    expect(parseInstruction('movq %gs:0x10, %rax').operands[0]).toEqual({ kind: 'mem', segment: 'gs', disp: '0x10' });
    expect(parseInstruction('mov %fs:8(%rax,%rbx,2), %ecx').operands[0]).toEqual({ kind: 'mem', segment: 'fs', disp: '8', base: 'rax', index: 'rbx', scale: 2 });
    // A segment register on its own is a register operand.
    expect(parseInstruction('mov %ds, %eax').operands[0]).toEqual({ kind: 'reg', reg: 'ds' });
  });

  it('treats a bare expression as absolute memory, except as a branch target', () => {
    expect(parseInstruction('mov 0x500000, %rax').operands[0]).toEqual({ kind: 'mem', disp: '0x500000' });
    expect(parseInstruction('jc .Lseamcall_vmfailinvalid0')).toEqual({
      prefixes: [], mnemonic: 'jc', operands: [{ kind: 'target', expr: '.Lseamcall_vmfailinvalid0' }],
    });
    expect(parseInstruction('call __x86_return_thunk').operands[0]).toEqual({ kind: 'target', expr: '__x86_return_thunk' });
    expect(parseInstruction('jmp 1b').operands[0]).toEqual({ kind: 'target', expr: '1b' });
  });

  it('reads indirect branches through a register or memory', () => {
    expect(parseInstruction('call *%rax').operands[0]).toEqual({ kind: 'indirect', operand: { kind: 'reg', reg: 'rax' } });
    expect(parseInstruction('jmp *0x8(%rax)').operands[0]).toEqual({ kind: 'indirect', operand: { kind: 'mem', disp: '0x8', base: 'rax' } });
    expect(parseInstruction('jmp *%gs:0x20').operands[0]).toEqual({ kind: 'indirect', operand: { kind: 'mem', segment: 'gs', disp: '0x20' } });
  });

  it('splits prefixes from the mnemonic', () => {
    expect(parseInstruction('lock incl (%rdi)')).toEqual({ prefixes: ['lock'], mnemonic: 'incl', operands: [{ kind: 'mem', base: 'rdi' }] });
    expect(parseInstruction('rep movsb')).toEqual({ prefixes: ['rep'], mnemonic: 'movsb', operands: [] });
    expect(parseInstruction('notrack jmp *%rax').prefixes).toEqual(['notrack']);
    // A prefix alone is an instruction of its own (GNU as emits the byte).
    expect(parseInstruction('lock')).toEqual({ prefixes: [], mnemonic: 'lock', operands: [] });
  });

  it('reads operand-less instructions and lower-cases', () => {
    for (const m of ['ret', 'int3', 'seamcall', 'tdcall', 'endbr64']) expect(parseInstruction(m)).toEqual({ prefixes: [], mnemonic: m, operands: [] });
    expect(parseInstruction('MOVQ %RAX, %RBX')).toEqual({ prefixes: [], mnemonic: 'movq', operands: [{ kind: 'reg', reg: 'rax' }, { kind: 'reg', reg: 'rbx' }] });
  });

  it('does not split at commas inside parentheses or character constants', () => {
    expect(parseInstruction("cmpb $',', %al").operands).toEqual([{ kind: 'imm', expr: "','" }, { kind: 'reg', reg: 'al' }]);
    expect(parseInstruction('mov $(1,2), %eax').operands[0]).toEqual({ kind: 'imm', expr: '(1,2)' });
  });

  it('reads three operands and %st(i)', () => {
    expect(parseInstruction('imul $0x10, %rax, %rcx').operands).toHaveLength(3);
    expect(parseInstruction('fld %st(1)').operands[0]).toEqual({ kind: 'reg', reg: 'st(1)' });
  });

  it.each([
    ['movq %rax, %foo', /bad register name/],
    ['mov (%rax, %rbx, 3), %ecx', /scale factor of 1, 2, 4, or 8/],
    ['mov (%ax), %ecx', /not a valid base register/],
    ['mov ((%rax), %ecx', /unbalanced/],
    ['mov $, %eax', /missing immediate/],
    ['mov %rax,, %rbx', /missing operand/],
    ['mov %eax:(%rax), %ecx', /segment register/],
    ['123 %eax', /expected a mnemonic/],
  ])('rejects `%s` with ENCODE_SYNTAX and no position', (text, msg) => {
    let err: unknown;
    try {
      parseInstruction(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SeamlabError);
    expect((err as SeamlabError).code).toBe('ENCODE_SYNTAX');
    expect((err as SeamlabError).message).toMatch(msg);
    expect((err as SeamlabError).where).toBeUndefined();
    expect((err as SeamlabError).hint).not.toBe('');
  });
});

/**
 * One test per parity rule: where Keystone 0.9.2 and GNU as 2.40 disagree,
 * seamlab gives GNU as's bytes. Expected bytes are GNU as 2.40's
 * (`as --64` + `objdump -d`), written by hand; where it documents the
 * rule, the test also shows what Keystone alone produces.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { KeystoneEncoder } from '../src/encode/keystone.js';
import { encodeInstruction } from '../src/encode/x86.js';
import type { ResolvedInstruction } from '../src/encode/types.js';
import { enc, errorCode, hex, KERNEL_TEXT } from './support/encode-helpers.js';

const ks = new KeystoneEncoder();
afterAll(() => ks.close());
const keystoneAlone = (text: string) => {
  const r = ks.assembleRaw(text, KERNEL_TEXT);
  return r.ok ? hex(r.bytes) : `error: ${r.message}`;
};

describe('parity: immediates (GNU as optimize_imm / template order)', () => {
  it('mov $-1,%rax is the sign-extended imm32 form, not movabs', () => {
    expect(keystoneAlone('mov $-1, %rax')).toBe('48b8ffffffffffffffff');
    expect(enc('mov $-1, %rax')).toBe('48c7c0ffffffff');
    expect(enc('mov $0xffffffffffffffff, %rax')).toBe('48c7c0ffffffff');
    expect(enc('movq $0x7fffffff, %rax')).toBe('48c7c0ffffff7f');
  });

  it('a 64-bit immediate that does not fit imm32 becomes movabs (48 b8+r)', () => {
    expect(enc('mov $0xffffffff, %rax')).toBe('48b8ffffffff00000000');
    expect(enc('movq $0x8000ff00ffff0000, %rdi')).toBe('48bf0000ffff00ff0080');
    expect(enc('mov $0x80000000ffff0000, %r11')).toBe('49bb0000ffff00000080');
    // Into memory there is no imm64 form: GNU as rejects it.
    expect(errorCode(() => enc('movq $0x100000000, (%rax)'))).toBe('ENCODE_RANGE');
  });

  it('arithmetic uses the sign-extended imm8 form whenever the value fits', () => {
    expect(enc('addq $0x7f, %rsp')).toBe('4883c47f');
    expect(enc('subq $0x80, %rsp')).toBe('4881ec80000000');
    expect(enc('cmpq $-0x80, %rax')).toBe('4883f880');
    expect(enc('addl $0x80, %eax')).toBe('0580000000');
  });

  it('a 16/32-bit value that fits unsigned counts as negative (addw $0xffff = add $-1)', () => {
    expect(enc('addw $0xffff, %ax')).toBe('6683c0ff');
    expect(enc('addl $0xffffffff, %eax')).toBe('83c0ff');
    // ...but not for 64-bit operands: 0xffffffff is not a sign-extended imm32.
    expect(errorCode(() => enc('addq $0xffffffff, %rax'))).toBe('ENCODE_RANGE');
    expect(enc('orq $0xffffffff80000000, %rdi')).toBe('4881cf00000080');
  });

  it('too-wide 8/16/32-bit immediates are truncated as GNU as does (it warns)', () => {
    expect(enc('addw $0x1ffff, %ax')).toBe('6605ffff');
    expect(enc('movl $-0x80000001, %eax')).toBe('b8ffffff7f');
  });

  it('push: imm8 when it fits, else imm32; push $0xffffffff is an error', () => {
    expect(enc('push $1')).toBe('6a01');
    expect(enc('pushq $0x80')).toBe('6880000000');
    expect(enc('push $-0x80000000')).toBe('6800000080');
    expect(errorCode(() => enc('push $0xffffffff'))).toBe('ENCODE_RANGE');
  });

  it('shift by 1 uses the D1 form; other counts C1 ib', () => {
    expect(enc('shl $1, %eax')).toBe('d1e0');
    expect(enc('shlq $1, (%rax)')).toBe('48d120');
    expect(enc('shr $0x5, %rax')).toBe('48c1e805');
    expect(enc('sar %cl, %rdx')).toBe('48d3fa');
  });

  it('a not-yet-known or relocated immediate gets the imm32 form even when small', () => {
    const labels = { sym: 0x10n };
    expect(enc('addq $sym, %rbx', { labels })).toBe('4881c310000000');
    expect(enc('addq $sym, %rax', { labels })).toBe('480510000000');
    expect(enc('movq $sym, %rax', { labels })).toBe('48c7c010000000');
    expect(enc('pushq $sym', { labels })).toBe('6810000000');
    expect(enc('movabs $sym, %rax', { labels })).toBe('48b81000000000000000');
    // A forward-referenced constant (known: false, not relocatable) is sized the same way.
    const insn: ResolvedInstruction = { prefixes: [], mnemonic: 'addq', operands: [{ kind: 'imm', value: { value: 1n, known: false } }, { kind: 'reg', reg: 'rbx' }] };
    expect(hex(encodeInstruction(insn, 0n))).toBe('4881c301000000');
  });

  it('range-checks a relocated value like ld does for the relocation GNU as emits', () => {
    const labels = { sym: 0xffffffff81000010n };
    // R_X86_64_32S (64-bit operand): a kernel address fits.
    expect(enc('movq $sym, %rax', { labels })).toBe('48c7c010000081');
    // R_X86_64_32 (32-bit operand): ld says "relocation truncated to fit".
    expect(errorCode(() => enc('movl $sym, %eax', { labels }))).toBe('ENCODE_RELOC_RANGE');
    expect(enc('movl $sym, %eax', { labels: { sym: 0x80000000n } })).toBe('b800000080');
    // R_X86_64_8/16 accept anything whose upper bits are all 0 or all 1 (ld 2.40: 0xff and -0x81 link, 0x100 does not).
    expect(enc('movb $sym, %al', { labels: { sym: 0xffn } })).toBe('b0ff');
    expect(enc('movb $sym, %al', { labels: { sym: -0x81n } })).toBe('b07f');
    expect(errorCode(() => enc('movb $sym, %al', { labels: { sym: 0x100n } }))).toBe('ENCODE_RELOC_RANGE');
    expect(errorCode(() => enc('movw $sym, %ax', { labels: { sym: 0x10000n } }))).toBe('ENCODE_RELOC_RANGE');
  });
});

describe('parity: displacements (GNU as optimize_disp / build_modrm_byte)', () => {
  it('drops a zero displacement, except for %rbp/%r13 bases (disp8 0)', () => {
    expect(enc('movq %rcx, 0x0(%rsi)')).toBe('48890e');
    expect(enc('movq 0(%rbp), %rax')).toBe('488b4500');
    expect(enc('mov (%r13), %ecx')).toBe('418b4d00');
    expect(enc('mov (%rsp), %ecx')).toBe('8b0c24');
  });

  it('uses disp8 for -0x80..0x7f and disp32 beyond', () => {
    expect(enc('mov 0x7f(%rax), %ecx')).toBe('8b487f');
    expect(enc('mov 0x80(%rax), %ecx')).toBe('8b8880000000');
    expect(enc('mov -0x80(%rax), %ecx')).toBe('8b4880');
    expect(enc('mov -0x81(%rax), %ecx')).toBe('8b887fffffff');
    expect(enc('mov 0x7fffffff(%rax), %ecx')).toBe('8b88ffffff7f');
    expect(errorCode(() => enc('mov 0x80000000(%rax), %ecx'))).toBe('ENCODE_RANGE');
  });

  it('an index without base always has disp32', () => {
    expect(enc('mov (,%rbp,2), %ecx')).toBe('8b0c6d00000000');
  });

  it('decimal displacements are converted to hex before Keystone (Keystone reads 32 as 0x32)', () => {
    expect(enc('movq 32(%rsi), %r10')).toBe('4c8b5620');
  });

  it('a not-yet-known displacement gets disp32 even when small', () => {
    expect(enc('movq sym(%rsi), %rcx', { labels: { sym: 8n } })).toBe('488b8e08000000');
  });

  it('32-bit addressing and lea into 32/16-bit registers read the displacement modulo 2^32', () => {
    expect(enc('mov 0xffffffff(%eax), %eax')).toBe('678b40ff');
    expect(enc('leal 0xffffffff(%rax), %eax')).toBe('8d40ff');
    expect(enc('leal -0x80000001(%r12), %edx')).toBe('418d9424ffffff7f');
  });
});

describe('instructions outside the modelled immediate classes', () => {
  it('pass their imm8 through and still get the displacement right', () => {
    expect(enc('pshufd $0x1b, 0x10(%rax), %xmm1')).toBe('660f7048101b');
    expect(enc('pshufd $0x5a, 0x5a(%rax), %xmm1')).toBe('660f70485a5a');
    expect(enc('pshufd $0x1b, foo(%rip), %xmm1', { address: 0x1000n, labels: { foo: 0x1000n } })).toBe('660f700df7ffffff1b');
    expect(enc('enter $0x10, $0x0')).toBe('c8100000');
  });
});

describe('parity: absolute addresses', () => {
  it('uses ModRM+SIB disp32 where Keystone picks moffs64 or %rip-relative', () => {
    expect(keystoneAlone('mov 0x1000, %eax')).toBe('a10010000000000000');
    expect(enc('mov 0x1000, %eax')).toBe('8b042500100000');
    expect(enc('mov 0x500000, %rax')).toBe('488b042500005000');
    expect(enc('mov %eax, 0x1000')).toBe('89042500100000');
    expect(enc('mov 0x7fffffff, %ecx')).toBe('8b0c25ffffff7f');
    expect(enc('mov 0xffffffff80000000, %ecx')).toBe('8b0c2500000080');
  });

  it('uses moffs64 for movabs, and for mov with the accumulator when the address needs 64 bits', () => {
    expect(enc('movabs 0x1000, %eax')).toBe('a10010000000000000');
    expect(enc('mov 0x80000000, %eax')).toBe('a10000008000000000');
    expect(enc('mov %al, 0x80000000')).toBe('a20000008000000000');
    expect(errorCode(() => enc('mov 0x100000000, %ecx'))).toBe('ENCODE_RANGE');
  });

  it('a symbolic absolute address is SIB disp32', () => {
    expect(enc('mov sym, %eax', { labels: { sym: 0xffffffff81000010n } })).toBe('8b042510000081');
  });
});

describe('parity: %rip-relative', () => {
  it('a label is stored relative to the end of the instruction', () => {
    // 48 8d 05 rel32 is 7 bytes: rel = target - (address + 7).
    expect(enc('leaq foo(%rip), %rax', { address: 0x1000n, labels: { foo: 0x2000n } })).toBe('488d05f90f0000');
    expect(enc('leaq foo(%rip), %rax', { address: 0x1000n, labels: { foo: 0x1000n } })).toBe('488d05f9ffffff');
    // With an immediate after the displacement the end is further on.
    expect(enc('movl $1, foo(%rip)', { address: 0x1000n, labels: { foo: 0x1000n } })).toBe('c705f6ffffff01000000');
  });

  it('a plain number is the displacement itself', () => {
    expect(enc('mov 0x10(%rip), %rax')).toBe('488b0510000000');
    expect(enc('mov -8(%rip), %rax')).toBe('488b05f8ffffff');
  });

  it('a label out of ±2 GiB is an error', () => {
    expect(errorCode(() => enc('leaq foo(%rip), %rax', { address: 0xffffffff81000000n, labels: { foo: 0x100000000n } }))).toBe('ENCODE_RELOC_RANGE');
  });
});

describe('parity: segment overrides', () => {
  it('emits a segment prefix only when it differs from the default segment', () => {
    expect(enc('mov %ds:(%rax), %eax')).toBe('8b00');
    expect(keystoneAlone('mov %ds:(%rsp), %eax')).toBe('8b0424');
    expect(enc('mov %ds:(%rsp), %eax')).toBe('3e8b0424');
    expect(keystoneAlone('mov %ss:(%rbp), %eax')).toBe('368b4500');
    expect(enc('mov %ss:(%rbp), %eax')).toBe('8b4500');
    expect(enc('mov %ss:(%r13), %eax')).toBe('36418b4500');
    expect(enc('mov %ds:(%rbp,%rax,1), %eax')).toBe('3e8b440500');
    expect(enc('mov %fs:0x10, %rax')).toBe('64488b042510000000');
    expect(enc('movq %gs:0x28, %rax')).toBe('65488b042528000000');
  });
});

describe('parity: prefixes', () => {
  it('orders prefixes like GNU as (segment, address, operand size, rep, lock)', () => {
    expect(keystoneAlone('lock addw $0x1,(%rax)')).toBe('f066830001');
    expect(enc('lock addw $0x1, (%rax)')).toBe('66f0830001');
    expect(enc('rep movsw')).toBe('66f3a5');
    expect(enc('lock incl (%rdi)')).toBe('f0ff07');
    expect(enc('lock cmpxchgq %rcx, %gs:(%rdx)')).toBe('65f0480fb10a');
  });

  it('encodes prefixes Keystone does not know (notrack) and bare prefixes', () => {
    expect(keystoneAlone('notrack jmp *%rax')).toMatch(/^error/);
    expect(enc('notrack jmp *%rax')).toBe('3effe0');
    expect(enc('lock')).toBe('f0');
    expect(enc('rep')).toBe('f3');
    expect(errorCode(() => enc('lock lock incl (%rdi)'))).toBe('ENCODE_PREFIX');
  });
});

describe('parity: size suffix inference', () => {
  it('uses the default suffix GNU as uses when no register sizes the instruction (it warns)', () => {
    expect(keystoneAlone('add $1,(%rax)')).toMatch(/^error/);
    expect(enc('add $1, (%rax)')).toBe('830001');
    expect(enc('mov $0x5a5a5a5a, (%rax)')).toBe('c7005a5a5a5a');
  });

  it('does not take the shift count %cl as the operand size', () => {
    expect(keystoneAlone('rcl %cl, (%rax)')).toMatch(/^error/);
    expect(enc('rcl %cl, (%rax)')).toBe('d310');
  });
});

describe('parity: instruction-specific rules', () => {
  it('int $3 is int3 (CC)', () => {
    expect(keystoneAlone('int $0x3')).toBe('cd03');
    expect(enc('int $3')).toBe('cc');
    expect(enc('int $0x80')).toBe('cd80');
  });

  it('movzx/movsx with a memory source take a byte source; movsx from 32 bits is movslq', () => {
    expect(keystoneAlone('movzx (%rcx), %ebx')).toBe(''); // Keystone "succeeds" with no bytes
    expect(enc('movzx (%rcx), %ebx')).toBe('0fb619');
    expect(enc('movsx (%rcx), %rbx')).toBe('480fbe19');
    expect(enc('movzx %ax, %rdx')).toBe('480fb7d0');
    expect(enc('movsx %eax, %rax')).toBe('4863c0');
  });

  it('nopw/nopl with a memory operand are 0F 1F /0', () => {
    expect(keystoneAlone('nopl 0x5a(%rax)')).toBe('0f18605a');
    expect(enc('nopl 0x5a(%rax)')).toBe('0f1f405a');
    expect(enc('nopw 0x0(%rax,%rax,1)')).toBe('660f1f0400');
    expect(enc('nopl 0x0(%rax)')).toBe('0f1f00');
    expect(enc('nopl 0xff(%r13)')).toBe('410f1f85ff000000');
  });

  it('rejects %ah-%dh in an instruction that needs REX, as GNU as does', () => {
    expect(keystoneAlone('movb %ah, %spl')).toBe('4088e4');
    expect(errorCode(() => enc('movb %ah, %spl'))).toBe('ENCODE_REX_HIGH_BYTE');
    // Keystone crashes on this one; seamlab rejects it before Keystone sees it.
    expect(errorCode(() => enc('movb %ah, (%r8)'))).toBe('ENCODE_REX_HIGH_BYTE');
    expect(errorCode(() => enc('movzbq %ah, %rax'))).toBe('ENCODE_REX_HIGH_BYTE');
    expect(enc('movb %ah, %bl')).toBe('88e3');
  });

  it('xchg %rax,%rax is the one-byte nop; xchg %eax,%eax is not', () => {
    expect(keystoneAlone('xchg %rax, %rax')).toBe('4890');
    expect(enc('xchg %rax, %rax')).toBe('90');
    expect(enc('xchg %eax, %eax')).toBe('87c0');
    expect(enc('xchg %rcx, %rax')).toBe('4891');
  });

  it('segment register moves, str and sldt have no REX.W, and 16-bit moves to a segment register no 66', () => {
    expect(keystoneAlone('mov %ss, %rax')).toBe('488cd0');
    expect(enc('mov %ss, %rax')).toBe('8cd0');
    expect(enc('mov %ss, %ax')).toBe('668cd0');
    expect(enc('mov %ax, %ss')).toBe('8ed0');
    expect(enc('mov %r8w, %ds')).toBe('418ed8');
    expect(enc('movw %ds, (%rax)')).toBe('8c18');
    expect(enc('str %rax')).toBe('0f00c8');
    expect(enc('str %ax')).toBe('660f00c8');
    expect(enc('sldt %r15')).toBe('410f00c7');
    // smsw keeps REX.W in GNU as too.
    expect(enc('smsw %rax')).toBe('480f01e0');
  });
});

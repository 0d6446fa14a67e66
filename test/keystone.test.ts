import { afterAll, describe, expect, it } from 'vitest';
import { KeystoneEncoder } from '../src/encode/keystone.js';

const enc = new KeystoneEncoder({ timeoutMs: 1500 });
afterAll(() => enc.close());

/**
 * Expected bytes are GNU as 2.40's (`as --64` + `objdump -d`), written here
 * by hand. Displacements and immediates are hex, as the assembler will always
 * give them to Keystone (Keystone reads bare decimals as hex in AT&T mode).
 */
const GNU_AS: [string, string][] = [
  ['movq 0x20(%rsi), %r10', '4c8b5620'],
  ['movq %rcx, 0x0(%rsi)', '48890e'],
  ['movq %r11, 0x28(%r12)', '4d895c2428'],
  ['push %r12', '4154'],
  ['pop %r12', '415c'],
  ['pushq %rbx', '53'],
  ['popq %r15', '415f'],
  ['mov %rdi, %rax', '4889f8'],
  ['mov %r8, %r9', '4d89c1'],
  ['test %r12, %r12', '4d85e4'],
  ['xorl %r8d, %r8d', '4531c0'],
  ['xorl %ebx, %ebx', '31db'],
  ['orq %rdi, %rax', '4809f8'],
  ['movq $0x8000ff0000000000, %rdi', '48bf0000000000ff0080'],
  ['mov $0x8000ff00ffff0000, %rax', '48b80000ffff00ff0080'],
  ['movq 0x8(%rsp), %rax', '488b442408'],
  ['movl $0xfc00, %ecx', 'b900fc0000'],
  ['testq $0x2, %rsi', '48f7c602000000'],
  ['xor %eax, %eax', '31c0'],
  ['leaq 0x1(%rsp), %rbp', '488d6c2401'],
  ['movq %rsi, 0x60(%rax)', '48897060'],
  ['cmpq $-0x80, %rax', '4883f880'],
  ['addq $0x7f, %rsp', '4883c47f'],
  ['subq $0x80, %rsp', '4881ec80000000'],
  ['movzbl (%rax,%rbx,4), %ecx', '0fb60c98'],
  ['sti', 'fb'],
  ['int3', 'cc'],
  ['lfence', '0faee8'],
];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Keystone wrapper', () => {
  it('encodes AT&T instructions to the bytes GNU as produces (one batch)', () => {
    const results = enc.assembleMany(GNU_AS.map(([text]) => ({ text, address: 0xffffffff81000000n })));
    const got = results.map((r, i) => [GNU_AS[i]![0], r.ok ? hex(r.bytes) : `error: ${r.message}`]);
    expect(got).toEqual(GNU_AS);
  });

  it('needs hex displacements: a bare decimal is read as hex (the defect the assembler avoids)', () => {
    const dec = enc.assembleRaw('movq 32(%rsi), %r10');
    const hx = enc.assembleRaw('movq 0x20(%rsi), %r10');
    expect(dec.ok && hex(dec.bytes)).toBe('4c8b5632'); // disp 0x32, not 32
    expect(hx.ok && hex(hx.bytes)).toBe('4c8b5620');
  });

  it('documents the encodings where Keystone differs from GNU as (parity rules live in the assembler)', () => {
    const r = enc.assembleRaw('mov $-1, %rax');
    expect(r.ok && hex(r.bytes)).toBe('48b8ffffffffffffffff'); // GNU as: 48c7c0ffffffff
  });

  it('turns an unknown mnemonic into a typed rejection with Keystone\'s message', () => {
    const r = enc.assembleRaw('seamcall');
    expect(r).toMatchObject({ ok: false, kind: 'rejected', message: expect.stringContaining('KS_ERR_ASM_MNEMONICFAIL') });
  });

  it('turns a wasm crash into a typed failure and recovers', () => {
    const r = enc.assembleRaw('.pushsection "__ex_table","a"');
    expect(r).toMatchObject({ ok: false, kind: 'crash' });
    const after = enc.assembleRaw('push %r12');
    expect(after.ok && hex(after.bytes)).toBe('4154');
  });

  it('turns a hang into a typed timeout within a bounded time, and recovers', () => {
    const started = enc.workersStarted;
    const t0 = Date.now();
    const r = enc.assembleRaw('.macro M a=1 b=1\n.endm\nM');
    const elapsed = Date.now() - t0;
    expect(r).toMatchObject({ ok: false, kind: 'timeout' });
    expect(elapsed).toBeLessThan(10_000); // the bound is the 1.5 s timeout plus restart, not "forever"
    const after = enc.assembleRaw('pop %r12');
    expect(after.ok && hex(after.bytes)).toBe('415c');
    expect(enc.workersStarted).toBeGreaterThan(started);
  });

  it('isolates a hanging item inside a batch', () => {
    const r = enc.assembleMany([
      { text: 'push %rbx', address: 0n },
      { text: '.macro N a=1 b=1\n.endm\nN', address: 0n },
      { text: 'pop %rbx', address: 0n },
    ]);
    expect(r.map((x) => (x.ok ? hex(x.bytes) : x.kind))).toEqual(['53', 'timeout', '5b']);
  });
});

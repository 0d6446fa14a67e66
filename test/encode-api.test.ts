/** The encoder API the front end calls: batching, memo, lengths, per-item errors. */
import { describe, expect, it } from 'vitest';
import {
  clearEncodeMemo, encodeInstruction, encodeMany, encoderStats, instructionLength, lengthMany, parseInstruction, useKeystone,
} from '../src/encode/x86.js';
import type { KeystoneEncoder } from '../src/encode/keystone.js';
import type { ResolvedInstruction } from '../src/encode/types.js';
import { isSeamlabError } from '../src/errors.js';
import { errorCode, hex, resolve } from './support/encode-helpers.js';

describe('encoder API', () => {
  it('encodes a batch with one Keystone round trip, and answers repeats from the memo', () => {
    clearEncodeMemo();
    const texts = Array.from({ length: 200 }, (_, i) => `movq 0x${(i * 8).toString(16)}(%rsi), %r${8 + (i % 8)}`);
    const items = texts.map((t) => ({ insn: resolve(t), address: 0n }));
    const calls = encoderStats.keystoneCalls;
    const out = encodeMany(items);
    expect(encoderStats.keystoneCalls - calls).toBe(1);
    expect(out.every((o) => o.ok)).toBe(true);
    // movq 0x8(%rsi),%r9 = 4c 8b 4e 08 (GNU as); 0x80(%rsi) needs disp32.
    expect(hex((out[1] as { bytes: Uint8Array }).bytes)).toBe('4c8b4e08');
    expect(hex((out[16] as { bytes: Uint8Array }).bytes)).toBe('4c8b8680000000');
    const again = encodeMany(items);
    expect(encoderStats.keystoneCalls - calls).toBe(1);
    expect(again.map((o) => o.ok && hex(o.bytes))).toEqual(out.map((o) => o.ok && hex(o.bytes)));
  });

  it('gives each item its own error without failing the batch', () => {
    const out = encodeMany([
      { insn: resolve('push %r12'), address: 0n },
      { insn: resolve('frobnicate %rax'), address: 0n },
      { insn: resolve('addq $0xffffffff, %rax'), address: 0n },
      { insn: resolve('pop %r12'), address: 0n },
    ]);
    expect(out.map((o) => (o.ok ? hex(o.bytes) : o.error.code))).toEqual(['4154', 'ENCODE_REJECTED', 'ENCODE_RANGE', '415c']);
    const err = (out[1] as { error: unknown }).error;
    expect(isSeamlabError(err) && err.message).toMatch(/frobnicate/);
    expect(isSeamlabError(err) && err.where).toBeUndefined();
  });

  it('computes lengths without writing (or range-checking) provisional values', () => {
    // During relaxation a %rip-relative symbol may still be far away; the length is 7 either way.
    const insn = resolve('leaq foo(%rip), %rax', { foo: 0x100000000n });
    expect(instructionLength(insn, 0xffffffff81000000n)).toBe(7);
    expect(errorCode(() => encodeInstruction(insn, 0xffffffff81000000n))).toBe('ENCODE_RELOC_RANGE');
    expect(lengthMany([{ insn: resolve('movq $0x8000ff00ffff0000, %rax'), address: 0n }])).toEqual([{ ok: true, length: 10 }]);
    expect(instructionLength(resolve('jmp x', { x: 0x10n }), 0n, 'near')).toBe(5);
    // A short jcc whose provisional target is out of rel8 range still has a length (2).
    expect(instructionLength(resolve('jz x', { x: 0x1000n }), 0n, 'short')).toBe(2);
    expect(errorCode(() => encodeInstruction(resolve('jz x', { x: 0x1000n }), 0n, 'short'))).toBe('ENCODE_BRANCH_RANGE');
  });

  it('encodes the TDX_MODULE_CALL instructions (v3 seamcall.S) like GNU as', () => {
    // GNU as 2.40 bytes for the body of the R0 macro with host=1.
    const body: [string, string][] = [
      ['push %r12', '4154'],
      ['push %r9', '4151'],
      ['mov %rdi, %rax', '4889f8'],
      ['mov %rsi, %rcx', '4889f1'],
      ['mov %rcx, %r8', '4989c8'],
      ['mov %r8, %r9', '4d89c1'],
      ['seamcall', '660f01cf'],
      ['mov $0x8000ff00ffff0000, %rax', '48b80000ffff00ff0080'],
      ['pop %r12', '415c'],
      ['test %r12, %r12', '4d85e4'],
      ['movq %rcx, 0(%r12)', '49890c24'],
      ['movq %rdx, 8(%r12)', '4989542408'],
      ['movq %r11, 40(%r12)', '4d895c2428'],
      ['ret', 'c3'],
    ];
    expect(body.map(([t]) => [t, hex(encodeInstruction(resolve(t), 0xffffffff81000000n))])).toEqual(body);
  });

  it('accepts instructions built by hand (no parser), with a mixed-case mnemonic', () => {
    const insn: ResolvedInstruction = { prefixes: ['LOCK'], mnemonic: 'INCL', operands: [{ kind: 'mem', base: 'rdi' }] };
    expect(hex(encodeInstruction(insn, 0n))).toBe('f0ff07');
  });

  it('rejects a branch target on a non-branch', () => {
    const p = parseInstruction('jmp foo');
    const insn = { ...p, mnemonic: 'mov', operands: [{ kind: 'target' as const, address: { value: 0n, known: true } }] };
    expect(errorCode(() => encodeInstruction(insn, 0n))).toBe('ENCODE_UNSUPPORTED');
  });
});

describe('encoder API: Keystone failures', () => {
  /** A stand-in for the Keystone worker that crashes on one text, like the wasm does. */
  function fakeKeystone(crashOn: string) {
    const seen: string[][] = [];
    const fake = {
      assembleMany(reqs: { text: string }[]) {
        seen.push(reqs.map((r) => r.text));
        let crashed = false;
        return reqs.map((r) => {
          if (crashed) return { ok: false, kind: 'crash', message: 'not attempted: Keystone crashed on an earlier item' };
          if (r.text === crashOn) {
            crashed = true;
            return { ok: false, kind: 'crash', message: 'Program terminated with exit(1)' };
          }
          return { ok: true, bytes: Uint8Array.of(0x90) };
        });
      },
    };
    return { fake: fake as unknown as KeystoneEncoder, seen };
  }

  it('turns a crash into that item\'s typed error and retries the items after it', () => {
    clearEncodeMemo();
    const { fake, seen } = fakeKeystone('cpuid');
    useKeystone(fake);
    try {
      const out = encodeMany(['rdtsc', 'cpuid', 'hlt'].map((t) => ({ insn: resolve(t), address: 0n })));
      expect(out.map((o) => (o.ok ? hex(o.bytes) : o.error.code))).toEqual(['90', 'ENCODE_KEYSTONE_FAILED', '90']);
      expect(seen).toEqual([['rdtsc', 'cpuid', 'hlt'], ['hlt']]);
      // A crash is not memoised: the next call asks again.
      encodeMany([{ insn: resolve('cpuid'), address: 0n }]);
      expect(seen[2]).toEqual(['cpuid']);
    } finally {
      useKeystone(undefined);
      clearEncodeMemo();
    }
  });
});

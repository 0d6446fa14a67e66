import { describe, expect, it } from 'vitest';
import { loadDisassembler } from '../src/encode/capstone.js';

describe('Capstone wrapper', () => {
  it('disassembles bytes to AT&T text at 64-bit kernel addresses', async () => {
    const d = await loadDisassembler();
    const bytes = Uint8Array.from([
      0x41, 0x54, // push %r12
      0x4c, 0x8b, 0x56, 0x20, // movq 0x20(%rsi), %r10
      0x72, 0x10, // jb +0x10
      0xf3, 0x0f, 0x1e, 0xfa, // endbr64
      0xc3, // ret
    ]);
    const insns = d.disassemble(bytes, 0xffffffff81000000n);
    expect(insns.map((i) => [i.address, i.text])).toEqual([
      [0xffffffff81000000n, 'pushq %r12'],
      [0xffffffff81000002n, 'movq 0x20(%rsi), %r10'],
      [0xffffffff81000006n, 'jb 0xffffffff81000018'],
      [0xffffffff81000008n, 'endbr64'],
      [0xffffffff8100000cn, 'retq'],
    ]);
  });

  it('names SEAMCALL/TDCALL/SEAMRET itself (Capstone says encls or stops)', async () => {
    const d = await loadDisassembler();
    const bytes = Uint8Array.from([0x66, 0x0f, 0x01, 0xcf, 0x66, 0x0f, 0x01, 0xcc, 0x66, 0x0f, 0x01, 0xcd, 0x90]);
    expect(d.disassemble(bytes, 0x1000n).map((i) => i.text)).toEqual(['seamcall', 'tdcall', 'seamret', 'nop']);
  });

  it('shows undecodable bytes as .byte instead of dropping them', async () => {
    const d = await loadDisassembler();
    // 0x06 (push %es) and 0xd6 (salc) do not exist in 64-bit mode.
    const insns = d.disassemble(Uint8Array.from([0x06, 0xd6, 0x90]), 0n);
    expect(insns.map((i) => i.text)).toEqual(['.byte 0x06', '.byte 0xd6', 'nop']);
    expect(insns.reduce((n, i) => n + i.bytes.length, 0)).toBe(3);
  });
});

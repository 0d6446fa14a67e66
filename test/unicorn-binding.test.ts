import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Unicorn, unicornVersion, formatUnicornVersion } from '../src/machine/unicorn.js';
import {
  GPR_IDS, GPR_NAMES, UC_ARCH_X86, UC_CTL_TB_FLUSH, UC_CTL_TB_REMOVE_CACHE, UC_ERR, UC_HOOK, UC_MEM,
  UC_MODE_64, UC_PROT, X86_REG, ucCtl, UC_CTL_IO_WRITE, UC_INSN_INVALID_SIZE,
} from '../src/machine/unicorn-consts.js';
import { hasCommand, hasFile, requireOracle } from './support/oracles.js';

const CODE = 0x10000n;
const DATA = 0x20000n;
const STACK = 0x30000n;

let uc: Unicorn | undefined;
afterEach(() => {
  uc?.close();
  uc = undefined;
});

function engine(code: number[]): Unicorn {
  const u = Unicorn.open();
  u.memMap(CODE, 0x1000, UC_PROT.READ | UC_PROT.EXEC);
  u.memMap(DATA, 0x1000, UC_PROT.READ | UC_PROT.WRITE);
  u.memMap(STACK, 0x1000, UC_PROT.READ | UC_PROT.WRITE);
  u.memWrite(CODE, Uint8Array.from(code));
  u.regWrite(X86_REG.RSP, STACK + 0x800n);
  uc = u;
  return u;
}

describe('libunicorn constants', () => {
  it('equal the values in Debian unicorn/unicorn.h and unicorn/x86.h', () => {
    const ok = requireOracle('gcc + libunicorn-dev headers', hasCommand('gcc') && hasFile('/usr/include/unicorn/unicorn.h'), 'apt-get install gcc libunicorn-dev');
    if (!ok) return;
    const ours: Record<string, number> = {
      UC_ARCH_X86, UC_MODE_64,
      UC_ERR_OK: UC_ERR.OK, UC_ERR_READ_UNMAPPED: UC_ERR.READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED: UC_ERR.WRITE_UNMAPPED,
      UC_ERR_FETCH_UNMAPPED: UC_ERR.FETCH_UNMAPPED, UC_ERR_INSN_INVALID: UC_ERR.INSN_INVALID, UC_ERR_WRITE_PROT: UC_ERR.WRITE_PROT,
      UC_ERR_READ_PROT: UC_ERR.READ_PROT, UC_ERR_FETCH_PROT: UC_ERR.FETCH_PROT, UC_ERR_EXCEPTION: UC_ERR.EXCEPTION,
      UC_PROT_READ: UC_PROT.READ, UC_PROT_WRITE: UC_PROT.WRITE, UC_PROT_EXEC: UC_PROT.EXEC, UC_PROT_ALL: UC_PROT.ALL,
      UC_HOOK_INTR: UC_HOOK.INTR, UC_HOOK_CODE: UC_HOOK.CODE, UC_HOOK_BLOCK: UC_HOOK.BLOCK,
      UC_HOOK_MEM_READ: UC_HOOK.MEM_READ, UC_HOOK_MEM_WRITE: UC_HOOK.MEM_WRITE, UC_HOOK_MEM_READ_UNMAPPED: UC_HOOK.MEM_READ_UNMAPPED,
      UC_HOOK_MEM_WRITE_UNMAPPED: UC_HOOK.MEM_WRITE_UNMAPPED, UC_HOOK_MEM_FETCH_UNMAPPED: UC_HOOK.MEM_FETCH_UNMAPPED,
      UC_HOOK_MEM_WRITE_PROT: UC_HOOK.MEM_WRITE_PROT, UC_HOOK_MEM_FETCH_PROT: UC_HOOK.MEM_FETCH_PROT,
      UC_HOOK_INSN_INVALID: UC_HOOK.INSN_INVALID,
      UC_MEM_READ: UC_MEM.READ, UC_MEM_WRITE: UC_MEM.WRITE, UC_MEM_FETCH_UNMAPPED: UC_MEM.FETCH_UNMAPPED, UC_MEM_WRITE_PROT: UC_MEM.WRITE_PROT,
      UC_CTL_TB_REMOVE_CACHE_W2: ucCtl(UC_CTL_TB_REMOVE_CACHE, 2, UC_CTL_IO_WRITE),
      UC_CTL_TB_FLUSH_W0: ucCtl(UC_CTL_TB_FLUSH, 0, UC_CTL_IO_WRITE),
    };
    for (const [k, v] of Object.entries(X86_REG)) ours[`UC_X86_REG_${k}`] = v;
    const cExpr = (name: string) =>
      name === 'UC_CTL_TB_REMOVE_CACHE_W2' ? 'UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2)'
        : name === 'UC_CTL_TB_FLUSH_W0' ? 'UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0)' : name;
    const dir = mkdtempSync(join(tmpdir(), 'seamlab-ucconst-'));
    const src = ['#include <stdio.h>', '#include <unicorn/unicorn.h>', 'int main(void) {',
      ...Object.keys(ours).map((k) => `  printf("%s %u\\n", "${k}", (unsigned)(${cExpr(k)}));`), '  return 0; }'].join('\n');
    writeFileSync(join(dir, 'c.c'), src);
    const cc = spawnSync('gcc', ['-o', join(dir, 'c'), join(dir, 'c.c')], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    const out = spawnSync(join(dir, 'c'), { encoding: 'utf8' }).stdout.trim().split('\n');
    const theirs = Object.fromEntries(out.map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; }));
    expect(theirs).toEqual(Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, v >>> 0])));
  });

  it('reports Unicorn 2', () => {
    const v = unicornVersion();
    expect(v.major).toBe(2);
    expect(formatUnicornVersion(v)).toMatch(/^2\.\d+\.\d+$/);
  });
});

describe('Unicorn binding', () => {
  it('round-trips every GPR, RIP and RFLAGS through the engine, singly and in batch', () => {
    const u = engine([0x90]);
    const pattern = (i: number) => BigInt.asUintN(64, 0x0101010101010101n * BigInt(i + 1)) ^ 0x8000000000000000n;
    GPR_NAMES.forEach((name, i) => u.regWrite(GPR_IDS[name], pattern(i)));
    GPR_NAMES.forEach((name, i) => expect(u.regRead(GPR_IDS[name]), name).toBe(pattern(i)));
    u.regWrite(X86_REG.RIP, 0xffffffff81000123n);
    expect(u.regRead(X86_REG.RIP)).toBe(0xffffffff81000123n);
    // RFLAGS: bit 1 is architecturally always 1; set CF, ZF, SF, OF, DF.
    u.regWrite(X86_REG.RFLAGS, 0xcc3n);
    expect(u.regRead(X86_REG.RFLAGS)).toBe(0xcc3n);

    const ids = GPR_NAMES.map((n) => GPR_IDS[n]);
    const vals = ids.map((_, i) => BigInt.asUintN(64, -BigInt(i + 1)));
    u.regWriteBatch(ids, vals);
    expect(u.regReadBatch(ids)).toEqual(vals);
    expect(ids.map((id) => u.regRead(id))).toEqual(vals);
  });

  it('executes arithmetic, push/pop and a memory store', () => {
    // mov $5,%eax; add $7,%rax; push %rax; pop %rbx; mov %rbx,(%rdi); imul $3,%rbx,%rcx
    const u = engine([0xb8, 5, 0, 0, 0, 0x48, 0x83, 0xc0, 0x07, 0x50, 0x5b, 0x48, 0x89, 0x1f, 0x48, 0x6b, 0xcb, 0x03]);
    u.regWrite(X86_REG.RDI, DATA + 0x10n);
    expect(u.emuStart(CODE, CODE + 18n)).toBe(UC_ERR.OK);
    expect(u.regRead(X86_REG.RAX)).toBe(12n);
    expect(u.regRead(X86_REG.RBX)).toBe(12n);
    expect(u.regRead(X86_REG.RCX)).toBe(36n);
    expect(u.regRead(X86_REG.RSP)).toBe(STACK + 0x800n);
    expect(u.memRead(DATA + 0x10n, 8).readBigUInt64LE(0)).toBe(12n);
    expect(u.memRead(STACK + 0x7f8n, 8).readBigUInt64LE(0)).toBe(12n); // the pushed value stays below RSP
  });

  it('a ranged code hook fires exactly at its address and may rewrite RIP (the SEAMCALL trap)', () => {
    // 0: mov $1,%eax   5: seamcall (66 0f 01 cf)   9: inc %rax   c: nop
    const u = engine([0xb8, 1, 0, 0, 0, 0x66, 0x0f, 0x01, 0xcf, 0x48, 0xff, 0xc0, 0x90]);
    const seen: bigint[] = [];
    u.hookCode((address, size) => {
      seen.push(address);
      // Unicorn reports an undecodable instruction with this size marker.
      expect(size).toBe(UC_INSN_INVALID_SIZE);
      u.regWrite(X86_REG.RAX, 0x41n);
      u.rip = address + 4n;
    }, CODE + 5n, CODE + 5n);
    expect(u.emuStart(CODE, CODE + 13n)).toBe(UC_ERR.OK);
    expect(seen).toEqual([CODE + 5n]);
    expect(u.regRead(X86_REG.RAX)).toBe(0x42n);
  });

  it('reports hook addresses above 2^63 as unsigned (kernel text addresses)', () => {
    const u = Unicorn.open();
    uc = u;
    const KTEXT = 0xffffffff81000000n;
    u.memMap(KTEXT, 0x1000, UC_PROT.READ | UC_PROT.EXEC);
    u.memWrite(KTEXT, Uint8Array.of(0x90, 0x90));
    const seen: bigint[] = [];
    u.hookCode((address) => { seen.push(address); }, KTEXT + 1n, KTEXT + 1n);
    expect(u.emuStart(KTEXT, KTEXT + 2n)).toBe(UC_ERR.OK);
    expect(seen).toEqual([KTEXT + 1n]);
  });

  it('without the trap, SEAMCALL is an invalid instruction for Unicorn (insn-invalid hook)', () => {
    const u = engine([0x66, 0x0f, 0x01, 0xcf]);
    let invalid = 0;
    u.hookInsnInvalid(() => { invalid++; return false; });
    expect(u.emuStart(CODE, CODE + 4n)).toBe(UC_ERR.INSN_INVALID);
    expect(invalid).toBe(1);
    expect(u.rip).toBe(CODE);
  });

  it('reports int3 through the interrupt hook', () => {
    const u = engine([0xcc]);
    const intr: number[] = [];
    u.hookIntr((n) => { intr.push(n); u.emuStop(); });
    expect(u.emuStart(CODE, CODE + 1n)).toBe(UC_ERR.OK);
    expect(intr).toEqual([3]);
  });

  it('a hook added after translation takes effect once the cache is removed', () => {
    // main: 6 x { call f; inc %rax }, f at +0x100: inc %rbx; inc %rbx; ret. The hook goes on
    // f's second instruction, in the middle of a block translated by the first run.
    const code = new Array<number>(0x110).fill(0x90);
    [0xe8, 0xfb, 0x00, 0x00, 0x00, 0x48, 0xff, 0xc0, 0x48, 0x83, 0xf8, 0x06, 0x75, 0xf2].forEach((b, i) => { code[i] = b; });
    [0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0xc3].forEach((b, i) => { code[0x100 + i] = b; });
    const end = CODE + 14n;
    const hookAt = CODE + 0x103n;
    const runWithLateHook = (remove: boolean): number => {
      const u = engine(code);
      expect(u.emuStart(CODE, end)).toBe(UC_ERR.OK);
      expect(u.regRead(X86_REG.RBX)).toBe(12n);
      let hits = 0;
      const h = u.hookCode(() => { hits++; }, hookAt, hookAt);
      if (remove) u.removeCache(CODE + 0x100n, CODE + 0x107n);
      u.regWrite(X86_REG.RAX, 0n);
      u.regWrite(X86_REG.RSP, STACK + 0x800n);
      expect(u.emuStart(CODE, end)).toBe(UC_ERR.OK);
      u.hookDel(h);
      u.close();
      uc = undefined;
      return hits;
    };
    // Unicorn 2 bakes code hooks into translated blocks ...
    expect(runWithLateHook(false)).toBe(0);
    // ... so the late hook only fires once the block is removed from the cache.
    expect(runWithLateHook(true)).toBe(6);
  });

  it('refuses to change the translation cache from inside a hook', () => {
    const u = engine([0x90, 0x90]);
    u.hookCode(() => u.removeCache(CODE, CODE + 2n), CODE, CODE);
    expect(() => u.emuStart(CODE, CODE + 2n)).toThrow(/inside a hook/);
  });

  it('reports invalid memory through a mem hook and as an error code', () => {
    const u = engine([0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00]); // mov 0x500000,%rax
    const seen: [number, bigint][] = [];
    u.hookMem(UC_HOOK.MEM_READ_UNMAPPED, (type, address) => { seen.push([type, address]); return false; });
    expect(u.emuStart(CODE, CODE + 8n)).toBe(UC_ERR.READ_UNMAPPED);
    expect(seen).toEqual([[UC_MEM.READ_UNMAPPED, 0x500000n]]);
  });

  it('rethrows an exception thrown inside a hook from emuStart', () => {
    const u = engine([0x90, 0x90]);
    u.hookCode(() => { throw new Error('handler bug'); }, CODE, CODE);
    expect(() => u.emuStart(CODE, CODE + 2n)).toThrow('handler bug');
  });

  it('maps host memory shared with JavaScript, protects, lists regions', () => {
    const u = engine([0x48, 0x89, 0x07]); // mov %rax,(%rdi)
    const shared = Buffer.alloc(0x1000);
    u.memMapPtr(0x40000n, shared, UC_PROT.READ | UC_PROT.WRITE);
    u.regWrite(X86_REG.RDI, 0x40008n);
    u.regWrite(X86_REG.RAX, 0xdeadbeefn);
    expect(u.emuStart(CODE, CODE + 3n)).toBe(UC_ERR.OK);
    expect(shared.readBigUInt64LE(8)).toBe(0xdeadbeefn);
    u.memProtect(0x40000n, 0x1000, UC_PROT.READ);
    expect(u.emuStart(CODE, CODE + 3n)).toBe(UC_ERR.WRITE_PROT);
    expect(u.memRegions().map((r) => r.begin)).toEqual([CODE, DATA, STACK, 0x40000n]);
  });

  it('saves and restores the CPU context', () => {
    const u = engine([0x90]);
    u.regWrite(X86_REG.RBX, 7n);
    const ctx = u.contextSave();
    u.regWrite(X86_REG.RBX, 9n);
    u.contextRestore(ctx);
    ctx.free();
    expect(u.regRead(X86_REG.RBX)).toBe(7n);
  });
});

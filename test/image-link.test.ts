/**
 * Linking: placement, exception table decoding, harness stubs, undefined
 * symbols, the source map, the listing, the ELF writer and the build cache.
 * Expected addresses and bytes are worked out by hand from the kernel
 * source (6.12 tdxcall.S/seamcall.S, facts §1.6/§1.8), not printed by
 * seamlab.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plainSource } from '../src/cpp/types.js';
import { isSeamlabError, type SeamlabError } from '../src/errors.js';
import { assemble } from '../src/gas/assemble.js';
import { buildImage, buildStats } from '../src/image/build.js';
import { writeElf } from '../src/image/elf.js';
import { defaultPreprocess } from '../src/image/cpp-bridge.js';
import { linkObject } from '../src/image/link.js';
import { formatListing } from '../src/report/listing.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { Image } from '../src/image/types.js';
import { hasCommand } from './support/oracles.js';
import { treePath } from './support/kernel.js';
import { DirFs } from '../src/support/vfs.js';

const TEXT = 0xffffffff81000000n;

function link(text: string, profile = 'default'): Image {
  return linkObject(assemble(plainSource('t.S', text)), { sourceFile: 't.S', profile });
}

function linkError(text: string): SeamlabError {
  try {
    link(text);
  } catch (e) {
    if (isSeamlabError(e)) return e;
    throw e;
  }
  throw new Error('expected a SeamlabError');
}

describe('placement and symbols (hand-made source)', () => {
  it('.text at 0xffffffff81000000, other sections on following pages, empty ones left out', () => {
    const img = link('.text\nf: ret\n.data\n.quad f\n.section .rodata.x,"a"\n.byte 1\n.section .discard.x\n.long 1\n');
    expect(img.sections.map((s) => [s.name, s.address])).toEqual([
      ['.text', TEXT],
      ['.data', TEXT + 0x1000n],
      ['.rodata.x', TEXT + 0x2000n],
    ]);
    expect(Buffer.from(img.sections[1]!.bytes).toString('hex')).toBe('00000081ffffffff');
  });

  it('a section aligned beyond a page starts on its alignment', () => {
    const img = link('.text\nret\n.data\n.balign 8192\n.byte 1\n');
    expect(img.sections[1]!.address).toBe(TEXT + 0x2000n);
  });

  it('symbols: labels, absolute values, sizes, bindings', () => {
    const img = link('.text\n.globl f\n.type f, @function\nf: nop\nret\n.size f, .-f\nlocal_label: ret\n.weak w\nw: ret\nabs_val = 0x1234\n.L_hidden_local: ret\n');
    const sym = (n: string) => img.symbols.find((s) => s.name === n);
    expect(sym('f')).toMatchObject({ address: TEXT, size: 2n, type: 'func', binding: 'global', section: '.text' });
    expect(sym('local_label')).toMatchObject({ address: TEXT + 2n, binding: 'local' });
    expect(sym('w')).toMatchObject({ address: TEXT + 3n, binding: 'weak' });
    expect(sym('abs_val')).toMatchObject({ address: 0x1234n, section: null });
    expect(sym('.L_hidden_local')).toBeUndefined();
  });

  it('kernel-provided symbols become stubs; anything else undefined is an error naming it and its line', () => {
    const img = link('.text\njmp __x86_return_thunk\ncall __tdx_hypercall_failed\n');
    expect(img.stubs.map((s) => [s.name, s.kind])).toEqual([
      ['__tdx_hypercall_failed', 'noreturn'],
      ['__x86_return_thunk', 'return-thunk'],
    ]);
    const stubs = img.sections.find((s) => s.name === '.seamlab.stubs')!;
    expect(stubs.address).toBe(TEXT + 0x1000n);
    // jmp rel32 from TEXT+5 to the thunk at TEXT+0x1010.
    expect(Buffer.from(img.sections[0]!.bytes.subarray(0, 5)).toString('hex')).toBe('e90b100000');
    expect(img.symbols.find((s) => s.name === '__x86_return_thunk')).toMatchObject({ address: TEXT + 0x1010n, stub: true });
    // Stub bytes are in the source map too: ud2, int3 padding to 16, ret; int3.
    expect(Buffer.from(stubs.bytes).toString('hex')).toBe('0f0b' + 'cc'.repeat(14) + 'c3cc');
    expect(img.byteMap.filter((r) => r.section === '.seamlab.stubs').map((r) => [Number(r.address - stubs.address), r.size, r.origin.text])).toEqual([
      [0, 2, '__tdx_hypercall_failed: ud2'],
      [2, 14, 'int3 padding'],
      [16, 2, '__x86_return_thunk: ret; int3'],
    ]);
    const e = linkError('.text\nnop\ncall no_such_function\n');
    expect(e.code).toBe('IMAGE_UNDEFINED_SYMBOL');
    expect(e.message).toContain('no_such_function');
    expect(e.where?.pos.line).toBe(3);
  });

  it('__ex_table entries are decoded (relative insn/fixup, type word)', () => {
    const img = link('.text\n1: nop\n2: ret\n.pushsection "__ex_table","a"\n.balign 4\n.long (1b) - .\n.long (2b) - .\n.long 2 | (5 << 16)\n.popsection\n');
    expect(img.extable).toEqual([{ entryAddress: TEXT + 0x1000n, insn: TEXT, fixup: TEXT + 1n, type: 2, typeWord: 0x50002 }]);
  });

  it('a data value that does not fit its field is an error (ld: relocation truncated)', () => {
    expect(linkError('.text\nf: ret\n.data\n.long f\n').code).toBe('GAS_FIXUP_OVERFLOW');
  });
});

describe('6.12 seamcall.S (default profile, seamlab cpp)', () => {
  const rev = resolveRevision('linux-6.12');
  const file = 'arch/x86/virt/vmx/tdx/seamcall.S';
  const built = buildImage(rev.files, file);
  const img = built.image;

  it('__seamcall: address, size and its exception-table entry', () => {
    // FRAME_BEGIN (1+3) + mov %rdi,%rax (3) + six loads (3+5*4) = 0x1e: the SEAMCALL.
    // + seamcall 4, jc 2, pop 1, ret 1, mov $imm64 10, jmp 2 = 0x32: .Lseamcall_trap.
    // + movq $imm64 10, orq 3, jmp 2 = 0x41 bytes.
    const s = img.symbols.find((x) => x.name === '__seamcall')!;
    expect([s.address, s.size, s.type, s.binding]).toEqual([TEXT, 0x41n, 'func', 'global']);
    expect(Buffer.from(img.sections[0]!.bytes.subarray(0x1e, 0x22)).toString('hex')).toBe('660f01cf');
    const ex = img.extable[0]!;
    expect([ex.insn, ex.fixup, ex.type, ex.typeName]).toEqual([TEXT + 0x1en, TEXT + 0x32n, 2, 'EX_TYPE_FAULT']);
    expect(img.extable).toHaveLength(3);
    expect(img.sections.find((x) => x.name === '__ex_table')!.address).toBe(TEXT + 0x1000n);
  });

  it('the source map covers every byte and carries the GAS macro stack with \\@ values', () => {
    for (const sec of img.sections) {
      const ranges = img.byteMap.filter((r) => r.section === sec.name);
      let at = sec.address;
      for (const r of ranges) {
        expect(r.address).toBe(at);
        at += BigInt(r.size);
      }
      expect(at).toBe(sec.address + BigInt(sec.bytes.length));
    }
    const push = img.byteMap.find((r) => r.address === TEXT)!;
    expect(push.origin.text).toBe('push %rbp');
    expect(push.origin.pos).toMatchObject({ file: 'arch/x86/include/asm/frame.h', line: 17 });
    expect(push.origin.gasStack[0]!.invokedAt).toMatchObject({ file: 'arch/x86/virt/vmx/tdx/tdxcall.S', line: 46 });
    expect(push.origin.gasStack[1]!.invokedAt).toMatchObject({ file: 'arch/x86/virt/vmx/tdx/seamcall.S', line: 22 });
    expect(push.origin.gasStack.map((m) => [m.name, m.counter])).toEqual([
      ['FRAME_BEGIN', 1],
      ['TDX_MODULE_CALL', 0],
    ]);
    expect(push.origin.gasStack[1]!.invocation).toBe('TDX_MODULE_CALL host=1');
    const seamcall = img.byteMap.find((r) => r.address === TEXT + 0x1en)!;
    expect(seamcall.origin.text).toBe('.byte 0x66,0x0f,0x01,0xcf');
    expect(seamcall.origin.pos).toMatchObject({ file: 'arch/x86/virt/vmx/tdx/tdxcall.S', line: 90 });
    // __seamcall_ret's expansion is the 4th macro use (after TDX_MODULE_CALL, FRAME_BEGIN, FRAME_END).
    const ret = img.symbols.find((x) => x.name === '__seamcall_ret')!;
    expect(img.byteMap.find((r) => r.address === ret.address)!.origin.gasStack.map((m) => m.counter)).toEqual([4, 3]);
  });

  it('the listing shows the function, the invocation and the expansion indented with bytes', () => {
    const text = formatListing(img, built.listing);
    const lines = text.split('\n');
    const head = lines.findIndex((l) => /^ffffffff81000000 <__seamcall>:/.test(l));
    expect(head).toBeGreaterThan(0);
    const inv = lines.findIndex((l, i) => i > head && l.includes('TDX_MODULE_CALL host=1'));
    const frame = lines.findIndex((l, i) => i > inv && l.includes('FRAME_BEGIN'));
    const push = lines.findIndex((l, i) => i > frame && l.includes('push %rbp'));
    expect([inv, frame, push].every((i) => i > head)).toBe(true);
    expect(lines[push]).toMatch(/^ffffffff81000000  55\s+ {4}push %rbp/);
    // Text starts after the address (16), two blanks, 8 bytes (23) and two blanks.
    const indent = (l: string) => /^ */.exec(l.slice(43))![0].length;
    expect(indent(lines[frame]!)).toBeGreaterThan(indent(lines[inv]!));
    expect(indent(lines[push]!)).toBeGreaterThan(indent(lines[frame]!));
  });

  it('another file system object of the same tree reuses the image by content, with its own preprocessed source', () => {
    const a = buildImage(new DirFs(treePath('linux-6.12')), file);
    const before = { ...buildStats };
    const b = buildImage(new DirFs(treePath('linux-6.12')), file);
    expect(buildStats.contentHits).toBe(before.contentHits + 1);
    expect(buildStats.assembled).toBe(before.assembled);
    expect(b.image).toBe(a.image);
    expect(b.listing).toBe(a.listing);
    expect(b.source).not.toBe(a.source);
    expect(b.source.lines).toEqual(a.source.lines);
  });

  it('assembling and building give plain data (a structured clone is the same value)', () => {
    const obj = assemble(defaultPreprocess(rev.files, file, { profile: 'default' }));
    expect(obj.linkInstructions.length + obj.relocations.length).toBeGreaterThan(0);
    expect(structuredClone(obj)).toStrictEqual(obj);
    expect(structuredClone(built)).toStrictEqual(built);
  });

  it('a second build of the same revision is served from the cache', () => {
    const before = { ...buildStats };
    const again = buildImage(rev.files, file);
    expect(again).toBe(built);
    expect(buildStats.fsHits).toBe(before.fsHits + 1);
    expect(buildStats.preprocessed).toBe(before.preprocessed);
  });

  it.skipIf(!hasCommand('readelf') || !hasCommand('objdump'))('the ELF64 executable is readable by binutils and holds the same bytes and symbols', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seamlab-elf-'));
    try {
      const elf = join(dir, 'x.elf');
      writeFileSync(elf, writeElf(img));
      const syms = spawnSync('readelf', ['-sW', elf], { encoding: 'utf8' }).stdout;
      expect(syms).toMatch(/ffffffff81000000\s+65 FUNC\s+GLOBAL DEFAULT\s+1 __seamcall$/m);
      const dump = spawnSync('objdump', ['-d', '--section=.text', elf], { encoding: 'utf8' }).stdout;
      expect(dump).toContain('ffffffff8100001e:\t66 0f 01 cf');
      const hdr = spawnSync('readelf', ['-lW', elf], { encoding: 'utf8' });
      expect(hdr.status).toBe(0);
      expect(hdr.stdout).toMatch(/LOAD\s+0x[0-9a-f]+ 0xffffffff81000000 0xffffffff81000000 0x00017c 0x00017c R E/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('profiles change what the macro assembles to', () => {
  const rev = resolveRevision('linux-6.12');
  const file = 'arch/x86/virt/vmx/tdx/seamcall.S';
  const at = (img: Image, n: number) => Buffer.from(img.sections[0]!.bytes.subarray(0, n)).toString('hex');
  it('noframe has no push %rbp; ibt starts with endbr64; rethunk jumps to the return-thunk stub; sls adds int3', () => {
    expect(at(buildImage(rev.files, file, { profile: 'noframe' }).image, 3)).toBe('4889f8');
    expect(at(buildImage(rev.files, file, { profile: 'ibt' }).image, 5)).toBe('f30f1efa55');
    const rethunk = buildImage(rev.files, file, { profile: 'rethunk' }).image;
    expect(rethunk.stubs.map((s) => [s.name, s.kind])).toEqual([['__x86_return_thunk', 'return-thunk']]);
    const sls = buildImage(rev.files, file, { profile: 'sls' }).image;
    // pop %rbp; ret; int3 right after jc (at 0x24).
    expect(Buffer.from(sls.sections[0]!.bytes.subarray(0x24, 0x27)).toString('hex')).toBe('5dc3cc');
  });
});

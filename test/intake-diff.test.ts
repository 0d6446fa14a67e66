import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDiff } from '../src/intake/diff-parse.js';
import { parsePatchText } from '../src/intake/patch-file.js';
import { indentationRepairs } from '../src/intake/ws-repair.js';
import { gitBlobId } from '../src/support/cache.js';

const FIX = path.resolve(import.meta.dirname, '../fixtures');
const read = (p: string) => fs.readFileSync(path.join(FIX, p)).toString('latin1');
const diffOf = (text: string, file = 'x.patch') => {
  const lines = text.split('\n');
  return parseDiff(lines, lines.map((_, i) => ({ file, line: i + 1 })));
};

describe('the whitespace-damaged seed', () => {
  const lf = parsePatchText(read('000_aa2199c2670e7995.txt'), 'seed.txt');
  const d = lf.patches[0]!.diff;

  it('recovers every hunk of every file', () => {
    // From the seed's diffstat: Makefile 2 +-, seamcall.S 52 +, tdx.h 11 +.
    expect(d.files.map((f) => [f.kind, f.oldPath, f.newPath, f.hunks.length])).toEqual([
      ['modify', 'arch/x86/virt/vmx/tdx/Makefile', 'arch/x86/virt/vmx/tdx/Makefile', 1],
      ['create', undefined, 'arch/x86/virt/vmx/tdx/seamcall.S', 1],
      ['create', undefined, 'arch/x86/virt/vmx/tdx/tdx.h', 1],
    ]);
    const mk = d.files[0]!.hunks[0]!;
    expect(mk.lines).toEqual([' # SPDX-License-Identifier: GPL-2.0-only', '-obj-$(CONFIG_INTEL_TDX_HOST) += tdx.o', '+obj-$(CONFIG_INTEL_TDX_HOST) += tdx.o seamcall.o']);
    expect(d.files[1]!.hunks[0]!.lines.filter((l) => l.startsWith('+'))).toHaveLength(52);
    expect(d.files[2]!.hunks[0]!.lines.filter((l) => l.startsWith('+'))).toHaveLength(11);
    expect(d.files.map((f) => [f.oldBlob, f.newBlob])).toEqual([['1bd688684716', 'fd577619620e'], [undefined, '327961b2dd5a'], [undefined, '9d5b6f554c20']]);
  });

  it('says why it is believed whitespace-damaged', () => {
    expect(d.damage.damaged).toBe(true);
    const ev = d.damage.evidence.join('\n');
    // Seed line 57 is the Makefile hunk's context line "# SPDX…" without its leading space.
    expect(ev).toMatch(/context lines lost their leading space\), first at seed\.txt:57/);
    expect(ev).toMatch(/no tab characters anywhere/);
  });

  it('positions hunks at their @@ line in the file', () => {
    expect(d.files.map((f) => f.at.line)).toEqual([52, 60, 118]);
    expect(d.files.map((f) => f.hunks[0]!.at.line)).toEqual([56, 65, 123]);
  });
});

describe('clean patches', () => {
  it('are not flagged as damaged and keep their tabs', () => {
    const d = parsePatchText(read('intake/seamcall-v3-clean.patch'), 'c').patches[0]!.diff;
    expect(d.damage).toEqual({ damaged: false, evidence: [] });
    expect(d.files[1]!.hunks[0]!.lines).toContain('+\tTDX_MODULE_CALL host=1');
  });

  it('parse renames (with and without changes) and deletions from git extended headers', () => {
    const d = parsePatchText(read('intake/rename-delete.patch'), 'r').patches[0]!.diff;
    expect(d.files.map((f) => [f.kind, f.oldPath, f.newPath, f.hunks.length, f.oldBlob?.length])).toEqual([
      ['delete', 'arch/x86/coco/tdx/Makefile', undefined, 1, 40],
      ['rename', 'arch/x86/coco/tdx/tdcall.S', 'arch/x86/coco/tdx/tdcall-guest.S', 1, 40],
      ['rename', 'arch/x86/coco/tdx/tdx.c', 'arch/x86/coco/tdx/tdx-guest.c', 0, undefined],
    ]);
  });

  it('read plain GNU diff -u output with timestamps and differing top directories', () => {
    const d = diffOf([
      '--- linux.orig/arch/x86/include/asm/tdx.h\t2022-04-06 12:00:00.000000000 +0000',
      '+++ linux/arch/x86/include/asm/tdx.h\t2022-04-06 12:01:00.000000000 +0000',
      '@@ -1,2 +1,3 @@',
      ' a',
      '+b',
      ' c',
    ].join('\n'));
    expect(d.files.map((f) => [f.kind, f.oldPath, f.newPath])).toEqual([['modify', 'arch/x86/include/asm/tdx.h', 'arch/x86/include/asm/tdx.h']]);
  });

  it('keep "\\ No newline at end of file" markers', () => {
    const d = diffOf(['diff --git a/x.h b/x.h', 'index 1111111..2222222 100644', '--- a/x.h', '+++ b/x.h', '@@ -1 +1 @@', '-a', '\\ No newline at end of file', '+b', '\\ No newline at end of file'].join('\n'));
    expect(d.files[0]!.hunks[0]!.lines).toEqual(['-a', '\\ No newline at end of file', '+b', '\\ No newline at end of file']);
  });
});

describe('malformed patches', () => {
  it('a hunk shorter than its header is a positioned error', () => {
    expect(() => parsePatchText(read('intake/bad/bad-hunk-count.patch'), 'bad.patch')).toThrow(
      expect.objectContaining({ code: 'PATCH_BAD_HUNK', where: expect.objectContaining({ pos: { file: 'bad.patch', line: 12 } }) }),
    );
  });

  it('a binary patch is an error naming the file', () => {
    expect(() => parsePatchText(read('intake/bad/binary.patch'), 'bin.patch')).toThrow(
      expect.objectContaining({ code: 'PATCH_BINARY', message: 'binary patch for arch/x86/virt/vmx/tdx/blob.bin', where: expect.objectContaining({ pos: { file: 'bin.patch', line: 14 } }) }),
    );
  });

  it('symlink and submodule modes are refused', () => {
    expect(() => diffOf(['diff --git a/l b/l', 'new file mode 120000', 'index 0000000..1111111', '--- /dev/null', '+++ b/l', '@@ -0,0 +1 @@', '+/etc/passwd', '\\ No newline at end of file'].join('\n'))).toThrow(
      expect.objectContaining({ code: 'PATCH_UNSUPPORTED_MODE' }),
    );
  });
});

describe('indentation repair', () => {
  it('restores kernel-style continuation alignment (tdx.h of the seed verifies as 9d5b6f554c20)', () => {
    const seed = read('000_aa2199c2670e7995.txt').split('\n');
    const start = seed.indexOf('@@ -0,0 +1,11 @@') + 1;
    const damaged = seed.slice(start, start + 11).map((l) => l.slice(1));
    const [r] = indentationRepairs(damaged, 'arch/x86/virt/vmx/tdx/tdx.h');
    expect(r!.lines[8]).toBe('\t       struct tdx_module_output *out);');
    expect(gitBlobId(Buffer.from(r!.lines.join('\n') + '\n')).slice(0, 12)).toBe('9d5b6f554c20');
  });

  it('indents assembler statements by one tab and leaves comments alone', () => {
    const [r] = indentationRepairs(['/*', ' * x', ' */', 'SYM_FUNC_START(f)', ' FRAME_BEGIN', ' ret', 'SYM_FUNC_END(f)'], 'a.S');
    expect(r!.lines).toEqual(['/*', ' * x', ' */', 'SYM_FUNC_START(f)', '\tFRAME_BEGIN', '\tret', 'SYM_FUNC_END(f)']);
  });
});

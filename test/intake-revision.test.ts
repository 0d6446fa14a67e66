/**
 * resolveRevision: built-ins, patch mails applied into the overlay, series,
 * order errors, renames/deletions, whitespace-insensitive application.
 * Expected blob ids are the ones the patches' `index` lines carry.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listBuiltinRevisions, resolveRevision } from '../src/intake/revision.js';
import type { FileApplication, Revision } from '../src/intake/types.js';
import { treePath } from './support/kernel.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const S = 'fixtures/intake/series';
const P1 = `${S}/0001-x86-virt-tdx-Add-the-TDX-host-Makefile.patch`;
const P2 = `${S}/0002-x86-virt-tdx-Implement-the-SEAMCALL-base-function.patch`;
const P3 = `${S}/0003-x86-virt-tdx-Add-SEAMCALL-leaf-numbers.patch`;
const resolve = (spec: string) => resolveRevision(spec, { cwd: ROOT });
/** git's blob id, computed here independently of seamlab. */
const blob = (s: string) => createHash('sha1').update(`blob ${Buffer.byteLength(s)}\0`).update(s).digest('hex');
const ws = (s: string) => s.replace(/\s+/g, ' ').trim();
/** The last thing the revision's patches did to path p. */
const file = (rev: Revision, p: string): FileApplication => {
  const f = rev.provenance.patches.flatMap((x) => x.files).reverse().find((x) => x.path === p);
  if (!f) throw new Error(`no ${p} in provenance`);
  return f;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-intake-rev-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('built-ins', () => {
  it('lists linux-6.1, linux-6.12 and v3 = linux-6.1 + the seed mail', () => {
    expect(listBuiltinRevisions().map((b) => [b.name, b.base, b.basePackage, b.patches])).toEqual([
      ['linux-6.1', 'linux-6.1', 'linux-source-6.1', []],
      ['linux-6.12', 'linux-6.12', 'linux-source-6.12', []],
      ['v3', 'linux-6.1', 'linux-source-6.1', ['fixtures/000_aa2199c2670e7995.txt']],
    ]);
  });

  it('linux-6.1 reads the cached tree directly, identified by the tdxcall.S blob id', () => {
    const r = resolve('linux-6.1');
    // Blob 49a54356ae99: R0's tdxcall.S (tdx-facts.md §0). The Debian upload is whatever setup fetched.
    expect(r.provenance.base).toMatchObject({ kind: 'builtin', name: 'linux-6.1', package: 'linux-source-6.1' });
    const base = r.provenance.base as Extract<typeof r.provenance.base, { kind: 'builtin' }>;
    expect(base.tdxcallBlob.slice(0, 12)).toBe('49a54356ae99');
    expect(base.version).toMatch(/^6\.1\.\d+-/);
    expect(r.provenance.patches).toEqual([]);
    expect(r.files.exists('arch/x86/virt/vmx/tdx/tdxcall.S')).toBe(true);
  });
});

describe('v3: linux-6.1 + the whitespace-damaged seed', () => {
  const v3 = resolve('v3');
  const seed = fs.readFileSync(path.join(ROOT, 'fixtures/000_aa2199c2670e7995.txt'), 'utf8').split('\n');
  /** The '+' lines of the seed's hunk for a created file, found by its @@ line, without the '+'. */
  const seedLines = (hunkHeader: string, n: number) => {
    const at = seed.indexOf(hunkHeader) + 1;
    return seed.slice(at, at + n).map((l) => l.slice(1));
  };

  it('provenance says whitespace-damaged, with subject, version and position', () => {
    const p = v3.provenance.patches;
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({
      source: 'fixtures/000_aa2199c2670e7995.txt',
      subject: '[PATCH v3 03/21] x86/virt/tdx: Implement the SEAMCALL base function',
      version: 3,
      position: { index: 3, total: 21 },
      whitespaceDamaged: true,
      format: 'archive-text',
    });
    expect(p[0]!.damageEvidence!.length).toBeGreaterThan(0);
  });

  it('reports the Makefile hunk as not applied, with the reason, and does not fail', () => {
    const mk = file(v3, 'arch/x86/virt/vmx/tdx/Makefile');
    expect(mk.mode).toBe('not-applied');
    expect(mk.notes.join('\n')).toMatch(/does not exist in the base tree \(linux-6\.1\).*earlier patch of the series \(this is patch 3\/21\)/);
    expect(v3.files.exists('arch/x86/virt/vmx/tdx/Makefile')).toBe(false);
  });

  it('creates seamcall.S equal to the seed lines up to whitespace; its blob check says whitespace-damaged', () => {
    const content = v3.files.readFile('arch/x86/virt/vmx/tdx/seamcall.S')!;
    const expected = seedLines('@@ -0,0 +1,52 @@', 52);
    expect(content.split('\n').slice(0, -1).map(ws)).toEqual(expected.map(ws));
    expect(content.endsWith('\n')).toBe(true);
    const f = file(v3, 'arch/x86/virt/vmx/tdx/seamcall.S');
    expect(f).toMatchObject({ mode: 'created', blobCheck: 'whitespace-damaged' });
    expect(blob(content).startsWith('327961b2dd5a')).toBe(false);
  });

  it('creates tdx.h equal to the seed lines up to whitespace; indentation repair makes it verify', () => {
    const content = v3.files.readFile('arch/x86/virt/vmx/tdx/tdx.h')!;
    expect(content.split('\n').slice(0, -1).map(ws)).toEqual(seedLines('@@ -0,0 +1,11 @@', 11).map(ws));
    expect(blob(content).slice(0, 12)).toBe('9d5b6f554c20');
    expect(file(v3, 'arch/x86/virt/vmx/tdx/tdx.h')).toMatchObject({ mode: 'created', blobCheck: 'ok' });
  });

  it('never writes into the cached tree', () => {
    expect(fs.existsSync(path.join(treePath('linux-6.1'), 'arch/x86/virt/vmx/tdx/seamcall.S'))).toBe(false);
    expect(v3.files.describe('arch/x86/virt/vmx/tdx/seamcall.S')).toBe('patches:arch/x86/virt/vmx/tdx/seamcall.S');
  });

  it('is cached per process: the same spec gives the same object', () => {
    expect(resolve('v3')).toBe(v3);
  });
});

describe('a clean git format-patch of the same change', () => {
  it('applies exactly and its blob ids verify', () => {
    const r = resolve('linux-6.1+fixtures/intake/seamcall-v3-clean.patch');
    const p = r.provenance.patches[0]!;
    expect(p.whitespaceDamaged).toBe(false);
    expect(p.files.map((f) => [f.path, f.mode, f.blobCheck])).toEqual([
      ['arch/x86/virt/vmx/tdx/Makefile', 'not-applied', undefined],
      ['arch/x86/virt/vmx/tdx/seamcall.S', 'created', 'ok'],
      ['arch/x86/virt/vmx/tdx/tdx.h', 'created', 'ok'],
    ]);
    expect(blob(r.files.readFile('arch/x86/virt/vmx/tdx/seamcall.S')!).slice(0, 12)).toBe('327961b2dd5a');
    expect(blob(r.files.readFile('arch/x86/virt/vmx/tdx/tdx.h')!).slice(0, 12)).toBe('9d5b6f554c20');
  });

  it('equals the damaged seed up to whitespace', () => {
    const clean = resolve('linux-6.1+fixtures/intake/seamcall-v3-clean.patch').files.readFile('arch/x86/virt/vmx/tdx/seamcall.S')!;
    const damaged = resolve('v3').files.readFile('arch/x86/virt/vmx/tdx/seamcall.S')!;
    expect(damaged.split('\n').map(ws)).toEqual(clean.split('\n').map(ws));
  });

  it('modifies the Makefile exactly (pre- and post-image verified) once the series\' earlier patch made it', () => {
    const r = resolve(`linux-6.1+${P1}+fixtures/intake/seamcall-v3-clean.patch`);
    expect(file(r, 'arch/x86/virt/vmx/tdx/Makefile')).toMatchObject({ mode: 'exact', blobCheck: 'ok' });
    expect(r.files.readFile('arch/x86/virt/vmx/tdx/Makefile')).toBe('# SPDX-License-Identifier: GPL-2.0-only\nobj-$(CONFIG_INTEL_TDX_HOST)\t+= tdx.o seamcall.o\n');
  });
});

describe('an mbox with three patches', () => {
  it('applies in series order, skipping the cover letter', () => {
    const r = resolve('linux-6.1+fixtures/intake/series-3.mbox');
    expect(r.provenance.patches.map((p) => p.position)).toEqual([{ index: 1, total: 3 }, { index: 2, total: 3 }, { index: 3, total: 3 }]);
    expect(r.provenance.skipped).toHaveLength(1);
    expect(r.provenance.patches.map((p) => p.files.map((f) => `${f.mode} ${f.path} ${f.blobCheck}`))).toEqual([
      ['created arch/x86/virt/vmx/tdx/Makefile ok'],
      ['exact arch/x86/virt/vmx/tdx/Makefile ok', 'created arch/x86/virt/vmx/tdx/seamcall.S ok', 'created arch/x86/virt/vmx/tdx/tdx.h ok'],
      ['exact arch/x86/include/asm/tdx.h ok', 'exact arch/x86/virt/vmx/tdx/tdx.h ok'],
    ]);
    expect(r.files.readFile('arch/x86/virt/vmx/tdx/tdx.h')).toContain('#define TDH_SYS_INIT\t\t33\n');
    expect(r.files.readFile('arch/x86/include/asm/tdx.h')).toContain('#define P_SEAMCALL_SEAMLDR_BASE\t\t_BITUL(63)\n');
  });

  it('gives the same files when shuffled and transfer-encoded (quoted-printable, base64)', () => {
    const a = resolve('linux-6.1+fixtures/intake/series-3.mbox');
    const b = resolve('linux-6.1+fixtures/intake/series-3-encoded.mbox');
    for (const p of ['arch/x86/virt/vmx/tdx/Makefile', 'arch/x86/virt/vmx/tdx/seamcall.S', 'arch/x86/virt/vmx/tdx/tdx.h', 'arch/x86/include/asm/tdx.h']) {
      expect(b.files.readFile(p), p).toBe(a.files.readFile(p));
    }
  });

  it('the same patches as separate files in the wrong order give a positioned error naming the order', () => {
    let err: unknown;
    try {
      resolve(`linux-6.1+${P3}+${P2}+${P1}`);
    } catch (e) {
      err = e;
    }
    // 0003 line 30 is "diff --git a/arch/x86/virt/vmx/tdx/tdx.h …".
    expect(err).toMatchObject({ code: 'PATCH_MISSING_FILE', where: { pos: { file: P3, line: 30 } } });
    expect((err as Error).message).toMatch(/tdx\.h does not exist .*a later patch creates it: .*0002/);
    expect((err as { hint: string }).hint).toMatch(/out of order/);
  });

  it('a patch whose base file is missing (a build input) is a positioned error', () => {
    expect(() => resolve(`linux-6.1+${P3}`)).toThrow(expect.objectContaining({ code: 'PATCH_MISSING_FILE', where: expect.objectContaining({ pos: { file: P3, line: 30 } }) }));
  });
});

describe('renames and deletions', () => {
  it('follow git extended headers, and discovery sees the renamed .S', () => {
    const r = resolve('linux-6.1+fixtures/intake/rename-delete.patch');
    expect(r.provenance.patches[0]!.files.map((f) => [f.mode, f.path, f.from, f.contentMatch, f.blobCheck])).toEqual([
      ['deleted', 'arch/x86/coco/tdx/Makefile', undefined, 'exact', 'ok'],
      ['renamed', 'arch/x86/coco/tdx/tdcall-guest.S', 'arch/x86/coco/tdx/tdcall.S', 'exact', 'ok'],
      ['renamed', 'arch/x86/coco/tdx/tdx-guest.c', 'arch/x86/coco/tdx/tdx.c', undefined, undefined],
    ]);
    expect(r.files.exists('arch/x86/coco/tdx/Makefile')).toBe(false);
    expect(r.files.exists('arch/x86/coco/tdx/tdcall.S')).toBe(false);
    expect(r.files.readFile('arch/x86/coco/tdx/tdcall-guest.S')).toContain(' * Return status of TDCALL via RAX (0 on success).\n');
    expect(r.files.listDir('arch/x86/coco/tdx')).toEqual(['tdcall-guest.S', 'tdx-guest.c']);
    expect(r.functions.map((f) => [f.name, f.sourceFile])).toEqual([['__tdx_module_call', 'arch/x86/coco/tdx/tdcall-guest.S']]);
  });
});

describe('whitespace-insensitive application and failing hunks', () => {
  /** A damaged copy of patch 3/3: tabs collapsed, context lines without their leading space. */
  const damaged3 = path.join(tmp, 'damaged-0003.txt');
  fs.writeFileSync(damaged3, fs.readFileSync(path.join(ROOT, P3), 'utf8').split('\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/^ /, '')).join('\n'));

  it('applies damaged hunks ignoring whitespace and says so', () => {
    const r = resolve(`linux-6.1+${P1}+${P2}+${damaged3}`);
    const p = r.provenance.patches[2]!;
    expect(p.whitespaceDamaged).toBe(true);
    const asm = file(r, 'arch/x86/include/asm/tdx.h');
    expect(asm.mode).toBe('whitespace-insensitive');
    // The pre-image (the 6.1 file) verifies; the result differs only by the damage.
    expect(asm.blobCheck).toBe('whitespace-damaged');
    expect(r.files.readFile('arch/x86/include/asm/tdx.h')).toContain('\n#define P_SEAMCALL_SEAMLDR_BASE _BITUL(63)\n');
  });

  const write = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('a hunk that does not apply to a non-build file is reported not applied with its reason', () => {
    const f = write('coco-makefile.patch', ['diff --git a/arch/x86/coco/tdx/Makefile b/arch/x86/coco/tdx/Makefile', '--- a/arch/x86/coco/tdx/Makefile', '+++ b/arch/x86/coco/tdx/Makefile', '@@ -1,3 +1,3 @@', ' # SPDX-License-Identifier: GPL-2.0', ' ', '-obj-y += nothing-like-this.o', '+obj-y += tdx.o tdcall.o other.o', ''].join('\n'));
    const r = resolve(`linux-6.1+${f}`);
    const mk = file(r, 'arch/x86/coco/tdx/Makefile');
    expect(mk.mode).toBe('not-applied');
    expect(mk.notes[0]).toMatch(new RegExp(`^hunk @@ -1,3 \\+1,3 @@ at ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: its context and removed lines are not in arch/x86/coco/tdx/Makefile, not even ignoring whitespace or with fuzz 2$`));
    expect(r.files.readFile('arch/x86/coco/tdx/Makefile')).toBe(fs.readFileSync(path.join(treePath('linux-6.1'), 'arch/x86/coco/tdx/Makefile'), 'utf8'));
  });

  it('a hunk that does not apply to a header is an error at the hunk', () => {
    const f = write('bad-header.patch', ['diff --git a/arch/x86/include/asm/tdx.h b/arch/x86/include/asm/tdx.h', '--- a/arch/x86/include/asm/tdx.h', '+++ b/arch/x86/include/asm/tdx.h', '@@ -30,3 +30,3 @@', ' \tu64 rcx;', '-\tu64 nothing_like_this;', '+\tu64 rdx;', ' \tu64 r8;', ''].join('\n'));
    expect(() => resolve(`linux-6.1+${f}`)).toThrow(expect.objectContaining({ code: 'PATCH_HUNK_FAILED', where: expect.objectContaining({ pos: { file: f, line: 4 } }) }));
  });
});

describe('specs', () => {
  it('a tree path works like the built-in it points at', () => {
    const r = resolve(treePath('linux-6.1'));
    expect(r.provenance.base).toEqual({ kind: 'tree', dir: treePath('linux-6.1') });
    expect(r.functions.map((f) => f.name)).toEqual(['__tdx_module_call']);
  });

  it('a built-in with patches can take more patches: v3+PATCH', () => {
    const f = path.join(tmp, 'v3-extra.patch');
    fs.writeFileSync(f, ['--- a/arch/x86/virt/vmx/tdx/tdx.h', '+++ b/arch/x86/virt/vmx/tdx/tdx.h', '@@ -10,2 +10,3 @@', ' ', '+/* extra */', ' #endif', ''].join('\n'));
    const r = resolve(`v3+${f}`);
    expect(r.provenance.patches.map((p) => p.source)).toEqual(['fixtures/000_aa2199c2670e7995.txt', f]);
    expect(file(r, 'arch/x86/virt/vmx/tdx/tdx.h').mode).toBe('exact');
    expect(r.files.readFile('arch/x86/virt/vmx/tdx/tdx.h')!.endsWith('\n/* extra */\n#endif\n')).toBe(true);
  });

  it('unknown names, missing patches and bare patch files are clear errors', () => {
    expect(() => resolve('linux-5.0')).toThrow(expect.objectContaining({ code: 'SPEC_UNKNOWN' }));
    expect(() => resolve('linux-6.1+nope.patch')).toThrow(expect.objectContaining({ code: 'SPEC_PATCH_NOT_FOUND' }));
    expect(() => resolve('linux-6.1++x')).toThrow(expect.objectContaining({ code: 'SPEC_EMPTY_PART' }));
    expect(() => resolve(P1)).toThrow(expect.objectContaining({ code: 'SPEC_NO_BASE' }));
    expect(() => resolve(tmp)).toThrow(expect.objectContaining({ code: 'SPEC_NOT_A_TREE' }));
  });

  it('a patch file name containing "+" is found', () => {
    const f = path.join(tmp, 'fix+more.patch');
    fs.copyFileSync(path.join(ROOT, P1), f);
    const r = resolve(`linux-6.1+${f}`);
    expect(r.provenance.patches[0]!.source).toBe(f);
  });
});

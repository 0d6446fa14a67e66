import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEncodedWords, parseSubject, readPatchMessages } from '../src/intake/mail.js';
import { parsePatchText } from '../src/intake/patch-file.js';

const FIX = path.resolve(import.meta.dirname, '../fixtures');
const read = (p: string) => fs.readFileSync(path.join(FIX, p)).toString('latin1');

describe('subjects', () => {
  it('parses version and position from git send-email subjects', () => {
    const s = parseSubject('[PATCH v3 03/21] x86/virt/tdx: Implement the SEAMCALL base function');
    expect(s).toMatchObject({ version: 3, position: { index: 3, total: 21 }, isPatch: true, isReply: false, title: 'x86/virt/tdx: Implement the SEAMCALL base function' });
  });
  it('handles RFC, RESEND, missing numbers and replies', () => {
    expect(parseSubject('[RFC PATCH v2 1/3] a: b')).toMatchObject({ version: 2, position: { index: 1, total: 3 }, title: 'a: b' });
    expect(parseSubject('[PATCH RESEND v14 12/23] x')).toMatchObject({ version: 14, position: { index: 12, total: 23 } });
    expect(parseSubject('[PATCH] x86/tdx: fix')).toMatchObject({ version: undefined, position: undefined, isPatch: true, title: 'x86/tdx: fix' });
    expect(parseSubject('Re: [PATCH v3 03/21] x')).toMatchObject({ isReply: true, version: 3 });
  });
  it('decodes RFC 2047 encoded words', () => {
    expect(decodeEncodedWords('=?utf-8?q?=5BPATCH_v2_1/3=5D_x86/virt/tdx=3A_Add?=')).toBe('[PATCH v2 1/3] x86/virt/tdx: Add');
    expect(decodeEncodedWords('=?UTF-8?B?S8O8aGw=?= =?UTF-8?Q?_x?=')).toBe('Kühl x');
  });
});

describe('reading patch files', () => {
  it('recognises the seed as web-archive text without RFC 2822 headers', () => {
    const [m] = readPatchMessages(read('000_aa2199c2670e7995.txt'), 'seed.txt');
    expect(m!.format).toBe('archive-text');
    expect(m!.subject?.subject).toBe('[PATCH v3 03/21] x86/virt/tdx: Implement the SEAMCALL base function');
    expect(m!.from).toBe('Kai Huang');
    expect(m!.date).toBe('Wed Apr 06 2022 - 12:06:53 EST');
    expect(m!.headerNotes.join('\n')).toMatch(/no RFC 2822 header block/);
    expect(m!.headerNotes.join('\n')).toMatch(/mangled/);
    // Body lines map to file lines one to one.
    expect(m!.lineMap[51]).toEqual({ file: 'seed.txt', line: 52 });
    expect(m!.body.split('\n')[51]).toBe('diff --git a/arch/x86/virt/vmx/tdx/Makefile b/arch/x86/virt/vmx/tdx/Makefile');
  });

  it('reads a git format-patch mail with RFC 2822 headers', () => {
    const [m] = readPatchMessages(read('intake/seamcall-v3-clean.patch'), 'clean.patch');
    expect(m!.format).toBe('mbox');
    expect(m!.from).toBe('Kai Huang <kai.huang@intel.com>');
    expect(m!.subject).toMatchObject({ version: 3, title: 'x86/virt/tdx: Implement the SEAMCALL base function' });
    expect(m!.transferEncoding).toBe('8bit');
    // The body starts after the blank line ending the headers (file line 6).
    expect(m!.lineMap[0]).toEqual({ file: 'clean.patch', line: 6 });
  });

  it('splits an mbox, skips the cover letter and applies series order', () => {
    const lf = parsePatchText(read('intake/series-3.mbox'), 'series-3.mbox');
    expect(lf.skipped).toEqual([{ source: 'series-3.mbox', messageIndex: 1, subject: '[PATCH v2 0/3] *** SUBJECT HERE ***', reason: 'cover letter (no diff)' }]);
    expect(lf.patches.map((p) => p.message.subject?.position)).toEqual([{ index: 1, total: 3 }, { index: 2, total: 3 }, { index: 3, total: 3 }]);
    expect(lf.notes).toEqual([]);
  });

  it('decodes quoted-printable and base64 bodies and orders a shuffled mbox by [PATCH M/K]', () => {
    const plain = parsePatchText(read('intake/series-3.mbox'), 'a');
    const enc = parsePatchText(read('intake/series-3-encoded.mbox'), 'b');
    expect(enc.patches.map((p) => p.message.messageIndex)).toEqual([2, 3, 1]);
    expect(enc.patches.map((p) => p.message.transferEncoding)).toEqual(['8bit', 'quoted-printable', 'base64']);
    expect(enc.patches.map((p) => p.message.subject?.subject)).toEqual(plain.patches.map((p) => p.message.subject?.subject));
    // The decoded diffs are the same as git's plain output.
    const hunks = (lf: typeof plain) => lf.patches.map((p) => p.diff.files.map((f) => [f.kind, f.oldPath, f.newPath, f.oldBlob, f.newBlob, f.hunks.map((h) => h.lines)]));
    expect(hunks(enc)).toEqual(hunks(plain));
    expect(enc.notes.join('\n')).toMatch(/series order \(1\/3, 2\/3, 3\/3\), not file order/);
  });

  it('maps quoted-printable lines back to the file line where each starts', () => {
    const enc = parsePatchText(read('intake/series-3-encoded.mbox'), 'enc.mbox');
    const qp = enc.patches[1]!;
    const seamcall = qp.diff.files.find((f) => f.newPath === 'arch/x86/virt/vmx/tdx/seamcall.S')!;
    const at = seamcall.hunks[0]!.at;
    const fileLines = read('intake/series-3-encoded.mbox').split('\n');
    // The @@ line of the created seamcall.S, as quoted-printable wrote it (spaces as =20).
    expect(fileLines[at.line - 1]).toBe('@@=20-0,0=20+1,52=20@@');
  });

  it('refuses an mbox numbering two messages the same', () => {
    const text = read('intake/series-3.mbox');
    const dup = text + text.slice(text.indexOf('From 643e22049648'), text.indexOf('From 4cdb0ee05bc8'));
    expect(() => parsePatchText(dup, 'dup.mbox')).toThrow(expect.objectContaining({ code: 'PATCH_SERIES_DUPLICATE' }));
  });

  it('says which patches of a series are missing', () => {
    const text = read('intake/series-3.mbox');
    const partial = text.slice(0, text.indexOf('From 4cdb0ee05bc8'));
    const lf = parsePatchText(partial, 'partial.mbox');
    expect(lf.patches).toHaveLength(1);
    const lf2 = parsePatchText(text.slice(text.indexOf('From 643e22049648'), text.indexOf('From 4cdb0ee05bc8')) + text.slice(text.indexOf('From 6f228913cd8b', 100)), 'gap.mbox');
    expect(lf2.notes.join('\n')).toMatch(/the series has 3 patches; missing 2/);
  });

  it('reads a patch sent as a base64 text/x-patch attachment of a multipart mail', () => {
    const clean = read('intake/seamcall-v3-clean.patch');
    const diff = clean.slice(clean.indexOf('diff --git'));
    const b64 = Buffer.from(diff, 'latin1').toString('base64').replace(/.{76}/g, '$&\n');
    const mail = [
      'From: Someone <someone@example.org>',
      'Subject: [PATCH v3] x86/virt/tdx: Implement the SEAMCALL base function',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="XyZ"',
      '',
      'This is a multi-part message in MIME format.',
      '--XyZ',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Patch attached.',
      '--XyZ',
      'Content-Type: text/html',
      '',
      '<p>Patch attached.</p>',
      '--XyZ',
      'Content-Type: text/x-patch; name="0001.patch"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="0001.patch"',
      '',
      b64,
      '--XyZ--',
      '',
    ].join('\n');
    const lf = parsePatchText(mail, 'multi.eml');
    expect(lf.patches[0]!.message.format).toBe('mail');
    expect(lf.patches[0]!.message.body).not.toContain('<p>');
    expect(lf.patches[0]!.diff.files.map((f) => [f.kind, f.newPath, f.newBlob])).toEqual([
      ['modify', 'arch/x86/virt/vmx/tdx/Makefile', 'fd577619620e'],
      ['create', 'arch/x86/virt/vmx/tdx/seamcall.S', '327961b2dd5a'],
      ['create', 'arch/x86/virt/vmx/tdx/tdx.h', '9d5b6f554c20'],
    ]);
  });

  it('splits Mailman-style mboxes ("From a at b.org  Wed Apr  6 …")', () => {
    const one = read('intake/series/0001-x86-virt-tdx-Add-the-TDX-host-Makefile.patch').split('\n').slice(1).join('\n');
    const two = read('intake/series/0002-x86-virt-tdx-Implement-the-SEAMCALL-base-function.patch').split('\n').slice(1).join('\n');
    const mbox = `From kai.huang at intel.com  Wed Apr  6 16:49:15 2022\n${one}\nFrom kai.huang at intel.com  Wed Apr  6 16:49:16 2022\n${two}`;
    const msgs = readPatchMessages(mbox, 'pipermail.txt');
    expect(msgs.map((m) => [m.format, m.subject?.position?.index])).toEqual([['mbox', 1], ['mbox', 2]]);
  });

  it('reports a file without any diff', () => {
    expect(() => parsePatchText('just some text\nwith no diff\n', 'note.txt')).toThrow(expect.objectContaining({ code: 'PATCH_NO_DIFF' }));
  });
});

/**
 * Robustness corpus, class 4 (issue 18): numbers in headers. A subject
 * line claiming a huge series (`[PATCH 1/999999999]`) made seamlab list
 * every missing patch — a V8 "invalid size" abort (exit 133). Every loop
 * and allocation is bounded by the input's real size now: the note lists
 * the first few missing numbers and counts the rest. Hunk headers claiming
 * huge line counts or positions were already bounded; they are kept here.
 */
import { describe, expect, it } from 'vitest';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('numbers');

const mail = (i: number, total: number) => [
  'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
  'From: A <a@example.org>',
  `Subject: [PATCH ${i}/${total}] part ${i}`,
  '',
  '---',
  `diff --git a/arch/x86/kernel/f${i}.txt b/arch/x86/kernel/f${i}.txt`,
  'new file mode 100644',
  '--- /dev/null',
  `+++ b/arch/x86/kernel/f${i}.txt`,
  '@@ -0,0 +1 @@',
  '+hello',
  '-- ',
  '2.40.0',
  '',
].join('\n');

describe('class 4: numbers in headers', () => {
  it('an mbox whose subjects claim 999,999,999 patches: the note counts the missing ones instead of listing them', () => {
    const cwd = dir({ 'series.mbox': mail(1, 999999999) + mail(2, 999999999) });
    const r = runCli(['revisions', 'linux-6.1+series.mbox'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('note: series.mbox: the series has 999999999 patches; missing 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22 … (999999997 in all)');
  });

  it('a hunk header claiming 999,999,999 lines', () => {
    const cwd = dir({ 'h.patch': '--- a/arch/x86/coco/tdx/tdcall.S\n+++ b/arch/x86/coco/tdx/tdcall.S\n@@ -1,999999999 +1,999999999 @@\n foo\n' });
    expectRefusal(runCli(['revisions', 'linux-6.1+h.patch'], { cwd }), [
      'h.patch:3: error: hunk @@ -1,999999999 +1,999999999 @@ declares 999999999 old and 999999999 new line(s) but has 1 and 1 [PATCH_BAD_HUNK]',
      '    @@ -1,999999999 +1,999999999 @@',
      '  hint: the patch is truncated or was edited by hand; save the complete mail (raw source) again',
    ]);
  });
});

/**
 * Robustness corpus, class 8 (issue 18): misleading messages. Before:
 * - a "new file" patch over an existing directory was accepted as created;
 * - a patch path that is a FIFO or a directory "does not exist";
 * - an #include cycle was reported at the innermost #include, often in a
 *   header the cycle only passes through (asm-offsets.h);
 * - deep YAML nesting said "Maximum call stack size exceeded … fix the
 *   YAML syntax";
 * - `--config` garbage was echoed raw to the terminal, and named `.config`
 *   whatever the file was called.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { insertAfter, treePatch } from '../support/patches.js';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('messages');

describe('class 8: patches', () => {
  it('a "new file" patch over a directory of the tree is not applied, and says why', () => {
    const cwd = dir({ 'newdir.patch': 'diff --git a/arch/x86/coco/tdx b/arch/x86/coco/tdx\nnew file mode 100644\n--- /dev/null\n+++ b/arch/x86/coco/tdx\n@@ -0,0 +1 @@\n+hello\n' });
    const r = runCli(['revisions', 'linux-6.1+newdir.patch'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(2, 6)).toEqual([
      '  patch 1    newdir.patch  (diff)',
      '             not-applied            arch/x86/coco/tdx  (newdir.patch:1)',
      '               arch/x86/coco/tdx is a directory in linux-6.1, so the patch cannot create a file there',
      '               not an input of the assembly build (only .S, .h and .inc files are), so the revision is built without this change',
    ]);
  });

  it('a patch path that is a directory says so', () => {
    const cwd = dir({ 'pdir/x': '' });
    expectRefusal(runCli(['revisions', 'linux-6.1+pdir'], { cwd }), [
      'error: patch pdir is a directory, not a patch file [SPEC_PATCH_NOT_A_FILE]',
      '  note: in revision spec "linux-6.1+pdir"',
      `  note: resolved to ${cwd}/pdir`,
      '  hint: give a mail, an mbox or a unified diff file',
    ], { positioned: false });
  });

  it('a patch path that is a FIFO says so (and is not opened)', () => {
    const cwd = dir();
    execFileSync('mkfifo', [`${cwd}/fifo.patch`]);
    expectRefusal(runCli(['revisions', 'linux-6.1+fifo.patch'], { cwd }), [
      'error: patch fifo.patch is a FIFO (named pipe), not a patch file [SPEC_PATCH_NOT_A_FILE]',
      '  note: in revision spec "linux-6.1+fifo.patch"',
      `  note: resolved to ${cwd}/fifo.patch`,
      '  hint: give a mail, an mbox or a unified diff file',
    ], { positioned: false });
  });
});

describe('class 8: an #include cycle', () => {
  it('is reported at the #include that closes it, with the files of the cycle', () => {
    const file = 'arch/x86/coco/tdx/tdcall.S';
    const patch = treePatch('linux-6.1', file, (t) => insertAfter(t, /^#include <asm\/frame\.h>/, ['#include "tdcall.S"']), 'include-self.patch');
    const at = fs.readFileSync(patch, 'utf8').split('\n').find((l) => l.startsWith('@@'))!;
    // The inserted line: the hunk's new start plus the context lines before it.
    const newStart = Number(/\+(\d+)/.exec(at)![1]);
    const body = fs.readFileSync(patch, 'utf8').split('\n');
    const line = newStart + body.slice(body.indexOf(at) + 1).findIndex((l) => l.startsWith('+'));
    expectRefusal(runCli(['cpp', `linux-6.1+${patch}`, file], { cwd: dir() }), [
      `${file}:${line}: error: #include cycle: ${file} → ${file} (#include nested depth 200 exceeds maximum of 200) [CPP_INCLUDE_CYCLE]`,
      '    #include "tdcall.S"',
      '  hint: a header includes itself (directly or through others) without an include guard',
    ]);
  });
});

describe('class 8: scenario and .config files', () => {
  it('YAML nested 100,000 deep: "nested too deeply", not a stack overflow to fix as syntax', () => {
    const cwd = dir({ 'deep.yaml': `name: x\nseamcall: ${'['.repeat(100000)}${']'.repeat(100000)}\n` });
    const r = runCli(['run', '--fn', '__seamcall', '--scenario', 'deep.yaml'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error: deep\.yaml:2:\d+: nested too deeply for the YAML parser \[SCENARIO_TOO_DEEP\]$/);
    expect(lines.slice(1)).toEqual(['  hint: a scenario nests a few levels (at most 64); check the brackets or indentation']);
  });

  it('YAML nested 70 deep (parses, but no scenario nests so): refused at the first node too deep', () => {
    const cwd = dir({ 'deep.yaml': `name: x\nseamcall: ${'['.repeat(70)}${']'.repeat(70)}\n` });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'deep.yaml'], { cwd }), [
      'error: deep.yaml:2:75: nested more than 64 levels deep [SCENARIO_TOO_DEEP]',
      '  hint: a scenario nests a few levels; check the brackets or indentation',
    ]);
  });

  it('--config with binary garbage: named by its file name and line, bytes not echoed', () => {
    const cwd = dir({ 'garbage.config': 'CONFIG_X86_64=y\n\u0001\u0002\u00ff\u00fe\u001b[31mred\n' });
    // \u00ff\u00fe are written as UTF-8 here; a NUL makes the line binary for certain.
    fs.writeFileSync(`${cwd}/garbage.config`, Buffer.concat([Buffer.from('CONFIG_X86_64=y\n'), Buffer.from([0, 1, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x0a])]));
    expectRefusal(runCli(['run', '--config', 'garbage.config'], { cwd }), [
      'garbage.config:2: error: garbage.config is not a kernel .config: line 2 holds binary data (NUL or bytes that are not UTF-8) [CONFIG_SYNTAX]',
      '  hint: a .config has lines CONFIG_X=y, CONFIG_X="text" and # CONFIG_X is not set (the kernel build writes one)',
    ]);
  });

  it('--config with a line that is not a .config line: quoted with control characters escaped', () => {
    const cwd = dir({ 'bad.config': 'CONFIG_X86_64=y\nhello \u001b[31mworld\n' });
    expectRefusal(runCli(['build', 'v3', '--config', 'bad.config'], { cwd }), [
      'bad.config:2: error: line 2 is not a .config line: "hello \\u001b[31mworld" [CONFIG_SYNTAX]',
      '  hint: a .config has lines CONFIG_X=y, CONFIG_X="text" and # CONFIG_X is not set (the kernel build writes one)',
    ]);
  });
});

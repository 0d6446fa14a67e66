/**
 * Robustness corpus, class 3 (issue 18): hangs. Each case hung before
 * (the harness's time limit ended it):
 * - a scenario handler that loops forever ignored --time-limit (the SEAM
 *   trap calls it synchronously from inside Unicorn's hook): its calls now
 *   run under a vm deadline (src/seam/user-code.ts) and the run ends as a
 *   handler error at the time limit; so does a handler whose constructor
 *   loops, and a module whose top-level code loops (load-watchdog.ts);
 * - `--config` and `--scenario` read devices and endless files (/dev/zero,
 *   /dev/urandom, a FIFO nobody writes): refused before reading;
 * - hunk application was quadratic: 2,000 hunks whose context is not in a
 *   200,000-line file took minutes (each searched the whole file, at each
 *   fuzz level, exactly and ignoring whitespace); now indexed (hunks.ts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('hang');
const scenarioTemps = () => fs.readdirSync(process.env.TMPDIR ?? '/tmp').filter((n) => n.startsWith('seamlab-scenario-')).sort();

describe('class 3: user code that never returns', () => {
  it('a handler that loops forever ends its run at --time-limit, as a handler error', () => {
    const cwd = dir({ 'loop.mjs': "export const handler = { name: 'loop', handle() { for (;;) {} } };\n" });
    const r = runCli(['run', '--fn', '__seamcall', '--scenario', 'loop.mjs', '--time-limit', '500', '--details'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(1); // the run failed its checks: it did not return
    expect(r.stdout).toMatch(/^ {2}end +handler error: handler loop did not return within 500 ms \(the run's time limit; a handler that loops forever\?\)$/m);
  });

  it('a handler whose constructor loops is refused before the run', () => {
    const cwd = dir({ 'ctor.mjs': "export const handler = class { constructor() { for (;;) {} } handle() { return { kind: 'return', rax: 0n }; } };\n" });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'ctor.mjs', '--time-limit', '500'], { cwd }), [
      "error: creating handler ctor.mjs did not return within 500 ms (the run's time limit; a handler that loops forever?) [SCENARIO_HANDLER_FAILED]",
      "  hint: fix the handler's constructor or factory (it runs once per run)",
    ], { positioned: false });
  });

  it('a module whose top-level code loops ends the command at --time-limit, leaving no temporary files', () => {
    const before = scenarioTemps();
    const cwd = dir({ 'top.mjs': "for (;;) {}\nexport const handler = () => ({ kind: 'return', rax: 0n });\n" });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'top.mjs', '--time-limit', '500'], { cwd }), [
      `error: ${cwd}/top.mjs did not finish loading within 500 ms (the time limit): its top-level code does not return [SCENARIO_MODULE_HANGS]`,
      '  hint: fix the module (its top-level code runs once, when the scenario is loaded)',
    ], { positioned: false });
    expect(scenarioTemps()).toEqual(before);
  });
});

describe('class 3: files that never end', () => {
  it('--config /dev/zero', () => {
    expectRefusal(runCli(['run', '--config', '/dev/zero'], { cwd: dir() }), [
      'error: the kernel .config /dev/zero is a character device, not a regular file [CONFIG_NOT_A_FILE]',
      '  hint: give the path of a kernel .config file (lines CONFIG_X=y or # CONFIG_X is not set)',
    ], { positioned: false });
  });

  it('--scenario /dev/urandom', () => {
    expectRefusal(runCli(['run', '--scenario', '/dev/urandom'], { cwd: dir() }), [
      'error: the scenario file /dev/urandom is a character device, not a regular file [SCENARIO_NOT_A_FILE]',
      '  hint: give a .yaml/.json/.ts/.mjs scenario file (src/seam/SCENARIOS.md), or a name from `seamlab scenarios`',
    ], { positioned: false });
  });

  it('--scenario a FIFO nobody writes', () => {
    const cwd = dir();
    execFileSync('mkfifo', [path.join(cwd, 'pipe.yaml')]);
    expectRefusal(runCli(['run', '--scenario', 'pipe.yaml'], { cwd }), [
      `error: the scenario file ${cwd}/pipe.yaml is a FIFO (named pipe), not a regular file [SCENARIO_NOT_A_FILE]`,
      '  hint: give a .yaml/.json/.ts/.mjs scenario file (src/seam/SCENARIOS.md), or a name from `seamlab scenarios`',
    ], { positioned: false });
  });

  it('a scenario file over 1 MiB', () => {
    const cwd = dir({ 'big.yaml': `name: big\n${'#'.repeat(1 << 20)}\n` });
    expectRefusal(runCli(['run', '--scenario', 'big.yaml'], { cwd }), [
      `error: the scenario file ${cwd}/big.yaml is over 1 MiB [SCENARIO_TOO_BIG]`,
      '  hint: give a .yaml/.json/.ts/.mjs scenario file (src/seam/SCENARIOS.md), or a name from `seamlab scenarios`',
    ], { positioned: false });
  });
});

describe('class 3: many hunks on a big file', () => {
  it('2,000 hunks whose context is not in a 200,000-line file are reported in bounded time', () => {
    const file = 'arch/x86/kernel/big.txt';
    const body = Array.from({ length: 200_000 }, (_, i) => `line ${i} some text here`);
    const create = [`--- /dev/null`, `+++ b/${file}`, `@@ -0,0 +1,${body.length} @@`, ...body.map((l) => `+${l}`)].join('\n') + '\n';
    const hunks: string[] = [`--- a/${file}`, `+++ b/${file}`];
    for (let k = 0; k < 2000; k++) {
      const at = k * 100 + 1;
      hunks.push(`@@ -${at},7 +${at},7 @@`, ' context a', ' context b', ' context c', `-line ${at + 2} some text here`, `+changed ${k}`, ' context d', ' context e', ' context f');
    }
    const cwd = dir({ 'create.patch': create, 'many.patch': hunks.join('\n') + '\n' });
    const r = runCli(['revisions', 'linux-6.1+create.patch+many.patch'], { cwd });
    expectBounded(r);
    expect(r.status).toBe(0); // big.txt is not a build input: its hunks are reported, the revision still builds
    expect(r.stdout).toMatch(new RegExp(`^ +not-applied +${file} +\\(many\\.patch:1\\)$`, 'm'));
    expect(r.stdout.match(/its context and removed lines are not in/g)).toHaveLength(2000);
  });
});

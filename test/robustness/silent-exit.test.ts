/**
 * Robustness corpus, class 5 (issue 18): a silent exit 0 where something
 * went wrong. Each case exited 0 before:
 * - a scenario module whose top-level await never settles (Node exits
 *   when nothing is left to do, with status 0 and no output; a .ts module
 *   also left its temporary directory behind);
 * - output to /dev/full, or to a pipe whose reader has gone (console.log
 *   ignores write errors);
 * - integers beyond 64 bits in YAML and JSON scenarios (wrapped: 2^64 ran
 *   as 0, while the same value quoted was refused), and `leaf: 34.5` said
 *   "above 2^53".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('silent');
const scenarioTemps = () => fs.readdirSync(process.env.TMPDIR ?? '/tmp').filter((n) => n.startsWith('seamlab-scenario-')).sort();

describe('class 5: a module that never finishes loading', () => {
  it('a top-level await that never settles is a user error, and the temporary directory goes', () => {
    const before = scenarioTemps();
    const cwd = dir({ 'never.ts': "await new Promise(() => {});\nexport const handler = () => ({ kind: 'return', rax: 0n });\n" });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'never.ts'], { cwd }), [
      `error: ${cwd}/never.ts never finished loading: its top-level await waits for something that never happens [SCENARIO_MODULE_HANGS]`,
      '  hint: fix the module (its top-level code runs once, when the scenario is loaded)',
    ], { positioned: false });
    expect(scenarioTemps()).toEqual(before);
  });
});

describe('class 5: output that cannot be written', () => {
  const full = fs.existsSync('/dev/full');
  it.skipIf(!full)('stdout on /dev/full: exit 2 with the reason', () => {
    for (const args of [['scenarios'], ['run', '--fn', '__seamcall', '--scenario', 'success'], ['trace', '--fn', '__seamcall']]) {
      const out = fs.openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', out, 'pipe'], encoding: 'utf8', timeout: 120_000 });
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr.split('\n').slice(0, 2), args.join(' ')).toEqual([
          'error: cannot write to stdout: no space left on the device (ENOSPC) [OUTPUT_WRITE_FAILED]',
          '  hint: write the output somewhere it fits (-o FILE, or another directory), or read all of it',
        ]);
      } finally {
        fs.closeSync(out);
      }
    }
  });

  it('stdout a pipe whose reader has gone: exit 2 with the reason', () => {
    // `seamlab scenarios | true`: `true` exits at once, long before seamlab (a second to start) writes.
    const bash = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" scenarios | true; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 120_000 });
    expect(bash.stdout).toBe('status 2\n');
    expect(bash.stderr.split('\n').slice(0, 1)).toEqual(['error: cannot write to stdout: the reader of the pipe has gone (EPIPE) [OUTPUT_WRITE_FAILED]']);
  });
});

describe('class 5: numbers a scenario cannot hold', () => {
  const yaml = (v: string) => `name: big\nseamcall:\n  call:\n    leaf: TDH.SYS.RD\n    inputs: { rdx: ${v} }\n`;
  for (const [v, shown] of [['18446744073709551616', '18446744073709551616 (0x10000000000000000)'], ['0x10000000000000000', '18446744073709551616 (0x10000000000000000)'], ['-9223372036854775809', '-9223372036854775809 (-0x8000000000000001)']]) {
    it(`YAML ${v}: refused at the field, as the same value quoted is`, () => {
      const cwd = dir({ 'big.yaml': yaml(v!), 'quoted.yaml': yaml(`"${v}"`) });
      expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'big.yaml'], { cwd }), [
        `error: big.yaml:5:20: seamcall.call.inputs.rdx: ${shown} does not fit in 64 bits [SCENARIO_INVALID]`,
        '  hint: fix the field; the scenario format is described in src/seam/SCENARIOS.md',
      ]);
      expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'quoted.yaml'], { cwd }), [
        `error: quoted.yaml:5:20: seamcall.call.inputs.rdx: ${v} does not fit in 64 bits [SCENARIO_INVALID]`,
        '  hint: fix the field; the scenario format is described in src/seam/SCENARIOS.md',
      ]);
    });
  }

  it('JSON 2^64 + 1: refused at the field', () => {
    const cwd = dir({ 'big.json': '{"name":"j","seamcall":{"call":{"leaf":34,"inputs":{"rdx":18446744073709551617}}}}\n' });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'big.json'], { cwd }), [
      'error: big.json:1:59: seamcall.call.inputs.rdx: 18446744073709551617 (0x10000000000000001) does not fit in 64 bits [SCENARIO_INVALID]',
      '  hint: fix the field; the scenario format is described in src/seam/SCENARIOS.md',
    ]);
  });

  it('leaf: 34.5 says it is not an integer', () => {
    const cwd = dir({ 'leaf.yaml': 'name: l\nseamcall:\n  call:\n    leaf: 34.5\n' });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 'leaf.yaml'], { cwd }), [
      'error: leaf.yaml:4:11: seamcall.call.leaf: 34.5 is not an integer [SCENARIO_INVALID]',
      '  hint: fix the field; the scenario format is described in src/seam/SCENARIOS.md',
    ]);
  });

  it('the largest values that fit still run (0xffffffffffffffff, -1, -2^63)', () => {
    for (const v of ['0xffffffffffffffff', '-1', '-9223372036854775808']) {
      const cwd = dir({ 'ok.yaml': yaml(v) });
      const r = runCli(['run', '--fn', '__seamcall', '--scenario', 'ok.yaml'], { cwd });
      expectBounded(r);
      expect(r.status, v).toBe(0);
    }
  });
});

/**
 * The `seamlab diff` command line: exit status 0/1/2 for CI, the expected-
 * differences file (muting, positioned errors), the versioned JSON
 * envelope, determinism across runs, --jobs and --shard + diff-merge, and
 * the trace alignment. Runs the bundled CLI (npm test builds it first).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffReportSchema } from '../src/diff/report.js';
import { makePatch } from './support/patches.js';
import { seamlab } from './support/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-diff-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PAIR = ['v3', 'linux-6.12', '--pair', 'v3:__seamcall=linux-6.12:__seamcall_ret'];
const FEW = ['--scenario', 'success', '--scenario', 'vmfailinvalid', '--scenario', 'ud', '--scenario', 'gp'];
const EXPECT = path.resolve(import.meta.dirname, '../fixtures/diff/v3-to-6.12.expect.yaml');
const json = (stdout: string) => DiffReportSchema.parse(JSON.parse(stdout));

describe('exit status', () => {
  it('2 when the comparison cannot be made: no common entry point, a bad --pair, a bad shard', () => {
    // linux-6.1 has __tdx_module_call, linux-6.12 __tdcall, __tdcall_ret … (tdx-facts.md §1.1, §1.6): no name in common.
    const none = seamlab(['diff', 'linux-6.1', 'linux-6.12']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('[DIFF_NO_PAIRS]');
    const bad = seamlab(['diff', 'v3', 'linux-6.12', '--pair', 'v3__seamcall=linux-6.12:__seamcall_ret']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[DIFF_BAD_PAIR]');
    const shard = seamlab(['diff', ...PAIR, '--fuzz', '10', '--shard', '3/2']);
    expect(shard.status).toBe(2);
    expect(shard.stderr).toContain('[DIFF_BAD_SHARD]');
    expect(seamlab(['diff', 'v3']).status).toBe(2);
  });

  it('1 with unexpected differences, 0 when the expected-differences file mutes exactly the real changes', () => {
    const r1 = seamlab(['diff', ...PAIR, ...FEW]);
    expect(r1.status).toBe(1);
    expect(r1.stdout).toMatch(/unexpected differences \(class × observation\):/);
    const r0 = seamlab(['diff', ...PAIR, ...FEW, '--fuzz', '300', '--jobs', '1', '--expect', EXPECT]);
    expect(r0.status).toBe(0);
    expect(r0.stdout).toContain('no unexpected differences');
    expect(r0.stdout).toMatch(/expected: R0 stores RCX, RDX, R8-R11 into \*out even on VMfailInvalid/);
    expect(r0.stdout).not.toMatch(/rules that matched nothing/);
    // No progress bar when stderr is not a terminal.
    expect(r0.stderr).toBe('');
  });

  it('a one-instruction regression fails `seamlab diff` with exit 1', () => {
    const patch = makePatch('linux-6.12', 'arch/x86/virt/vmx/tdx/tdxcall.S', 'cli-drop-xorl-r11', (t) => t.replace(/\n\txorl %r11d, %r11d\n/, '\n'));
    const r = seamlab(['diff', 'linux-6.12', `linux-6.12+${patch}`, '--pair', `linux-6.12:__seamcall_saved_ret=linux-6.12+${patch}:__seamcall_saved_ret`, '--scenario', 'success', '--fuzz', '300', '--jobs', '1']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\] after\.r11/);
    // The fuzzer alone finds it too (no scenario matrix).
    const fuzzOnly = seamlab(['diff', 'linux-6.12', `linux-6.12+${patch}`, '--pair', `linux-6.12:__seamcall_saved_ret=linux-6.12+${patch}:__seamcall_saved_ret`, '--fuzz', '300', '--fuzz-only', '--jobs', '1']);
    expect(fuzzOnly.status).toBe(1);
    expect(fuzzOnly.stdout).toMatch(/\] after\.r11 .*\n(.*\n)*?\s+found by fuzz case \d+/);
    const same = seamlab(['diff', 'linux-6.12', 'linux-6.12', '--pair', 'linux-6.12:__seamcall_saved_ret=linux-6.12:__seamcall_saved_ret', '--scenario', 'success', '--fuzz', '300', '--jobs', '1']);
    expect(same.status).toBe(0);
  });
});

describe('expected-differences file', () => {
  it('errors name the field with file:line:col and exit 2', () => {
    const f = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(f, 'expect:\n  - observation: seam.in.r10\n    reason: ok\n  - observation: outputs.rcx\n    reason: typo\n');
    const r = seamlab(['diff', ...PAIR, '--scenario', 'success', '--expect', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:4:18: expect\\.1\\.observation: matches no observation`));
    expect(r.stderr).toContain('[DIFF_EXPECT_INVALID]');
    const g = path.join(tmp, 'noreason.yaml');
    fs.writeFileSync(g, 'expect:\n  - observation: end\n');
    const r2 = seamlab(['diff', ...PAIR, '--scenario', 'success', '--expect', g]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/noreason\.yaml:2:\d+: expect\.0\.reason:/);
  });

  it('reports rules that muted nothing', () => {
    const f = path.join(tmp, 'unused.yaml');
    fs.writeFileSync(f, 'expect:\n  - observation: memory\n    reason: never happens\n');
    const r = seamlab(['diff', ...PAIR, '--scenario', 'success', '--json', '--expect', f]);
    expect(json(r.stdout).unusedRules).toEqual([`${f}:2 (memory × *)`]);
  });
});

describe('JSON report', () => {
  it('is the seamlab-diff v1 envelope, byte-identical across runs and across --jobs', () => {
    const args = ['diff', ...PAIR, ...FEW, '--fuzz', '2500', '--seed', '3', '--json'];
    const one = seamlab([...args, '--jobs', '1']);
    const again = seamlab([...args, '--jobs', '1']);
    const two = seamlab([...args, '--jobs', '2']);
    expect(one.status).toBe(1);
    const r = json(one.stdout);
    expect(r).toMatchObject({ format: 'seamlab-diff', version: 1, a: 'v3', b: 'linux-6.12', exitStatus: 1 });
    expect(r.pairs[0]!.fuzz).toMatchObject({ seed: 3, cases: 2500, pairs: 15000 });
    expect(again.stdout).toBe(one.stdout);
    expect(two.stdout).toBe(one.stdout);
  });

  it('shards merged with diff-merge give the unsharded report', () => {
    const base = ['diff', ...PAIR, ...FEW, '--fuzz', '2100', '--seed', '5', '--jobs', '1', '--json'];
    const whole = seamlab(base);
    const a = path.join(tmp, 's1.json');
    const b = path.join(tmp, 's2.json');
    expect(seamlab([...base, '--shard', '1/2', '-o', a]).status).toBe(1);
    expect(seamlab([...base, '--shard', '2/2', '-o', b]).status).toBe(1);
    expect(json(fs.readFileSync(b, 'utf8')).pairs[0]!.fuzz).toMatchObject({ first: 1050, cases: 1050, shard: { index: 2, count: 2 } });
    const merged = seamlab(['diff-merge', a, b, '--json']);
    expect(merged.status).toBe(1);
    expect(merged.stdout).toBe(whole.stdout);
    const twice = seamlab(['diff-merge', a, a]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain('[DIFF_MERGE_SHARDS]');
  });
});

describe('trace alignment', () => {
  it('aligns 6.12 with a copy missing `xorl %r10d, %r10d`: one unmatched step, everything else paired', () => {
    const patch = makePatch('linux-6.12', 'arch/x86/virt/vmx/tdx/tdxcall.S', 'align-drop-xorl-r10', (t) => t.replace(/\n\txorl %r10d, %r10d\n/, '\n'));
    const r = seamlab(['diff', 'linux-6.12', `linux-6.12+${patch}`, '--pair', `linux-6.12:__seamcall_saved_ret=linux-6.12+${patch}:__seamcall_saved_ret`, '--scenario', 'success', '--align', 'success', '--json']);
    const rows = json(r.stdout).pairs[0]!.alignment!.rows;
    const unmatched = rows.filter((x) => x.mark !== '=');
    expect(unmatched).toHaveLength(1);
    expect(unmatched[0]).toMatchObject({ mark: '<', a: { stmt: 'xorl %r10d,%r10d', macros: ['TDX_MODULE_CALL'] } });
    // The steps after it pair up although their source lines moved up by one.
    const after = rows[rows.indexOf(unmatched[0]!) + 1]!;
    expect(after.a!.stmt).toBe('xorl %r11d,%r11d');
    expect(Number(after.a!.src!.split(':')[1]) - Number(after.b!.src!.split(':')[1])).toBe(1);
    const text = seamlab(['diff', 'linux-6.12', `linux-6.12+${patch}`, '--pair', `linux-6.12:__seamcall_saved_ret=linux-6.12+${patch}:__seamcall_saved_ret`, '--scenario', 'success', '--align', 'success']);
    expect(text.stdout).toMatch(/aligned traces of scenario success/);
    expect(text.stdout).toMatch(/\n {2}< arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+ xorl %r10d, %r10d\n/);
  });
});

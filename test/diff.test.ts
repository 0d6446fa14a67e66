/**
 * `seamlab diff`: the behaviour changes between v3's R0 `__seamcall` and
 * 6.12's `__seamcall_ret`, a revision against itself, and hand-made
 * one-instruction regressions caught by the fuzzer and shrunk to one call.
 * Expectations come from tdx-facts.md and the kernel source (tdxcall.S read
 * from the cached trees, patches made here with the `diff` package), never
 * from an earlier report.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runDiff } from '../src/diff/run-diff.js';
import type { Difference, DiffReport, PairReport } from '../src/diff/report.js';
import { DiffReportSchema } from '../src/diff/report.js';
import { scenarioFromObject } from '../src/seam/scenario-file.js';
import { STATUS } from '../src/seam/codes.js';
import { canary } from '../src/run/plan.js';
import { hex } from '../src/support/format.js';
import { makePatch, treeFile } from './support/patches.js';
import { IN_CI } from './support/oracles.js';

/** Fixed in CI, random locally (printed; SEAMLAB_FUZZ_SEED reproduces), as the other fuzz tests. */
const RANDOM_SEED = process.env.SEAMLAB_FUZZ_SEED !== undefined ? Number(process.env.SEAMLAB_FUZZ_SEED) : IN_CI ? 20260705 : Math.floor(Math.random() * 0x7fffffff);

const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';
const V3_PAIR = { a: { spec: 'v3', fn: '__seamcall' }, b: { spec: 'linux-6.12', fn: '__seamcall_ret' } };

/** 1-based lines of a cached tree's tdxcall.S matching `re`. */
function lines(tree: 'linux-6.1' | 'linux-6.12', re: RegExp): number[] {
  return treeFile(tree, TDXCALL).split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

const only = (r: DiffReport): PairReport => {
  expect(r.pairs).toHaveLength(1);
  return r.pairs[0]!;
};
const find = (p: PairReport, id: string): Difference | undefined => p.differences.find((d) => d.id === id);

describe('v3 __seamcall ↔ linux-6.12 __seamcall_ret over the built-in scenarios', () => {
  let report: DiffReport;
  const get = async () => (report ??= await runDiff({ a: 'v3', b: 'linux-6.12', pairs: [V3_PAIR] }));

  it('is a valid seamlab-diff v1 report with unexpected differences (exit 1)', async () => {
    const r = await get();
    expect(DiffReportSchema.parse(r)).toEqual(r);
    expect(r.exitStatus).toBe(1);
    const p = only(r);
    // tdx-facts.md §1.1: R0 passes RCX, RDX, R8, R9; §1.6: R5 loads RCX, RDX, R8–R11 from the struct.
    expect(p.a.delivers).toEqual(['rcx', 'rdx', 'r8', 'r9']);
    expect(p.b.delivers).toEqual(['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11']);
    // Neither clears registers after the call (only saved && ret does, tdxcall.S:147).
    expect(p.a.clears).toEqual([]);
    expect(p.b.clears).toEqual([]);
  });

  it('VMfailInvalid: v3 stores RCX, RDX, R8–R11 into *out (even on failure, §1.1); 6.12 stores nothing (§1.6)', async () => {
    const p = only(await get());
    const stores = lines('linux-6.1', /^\tmovq %r(cx|dx|8|9|10|11), +TDX_MODULE_r\w+\(%r12\)$/);
    expect(stores).toHaveLength(6);
    for (const [i, reg] of ['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11'].entries()) {
      const d = find(p, `vmfailinvalid/output.${reg}`)!;
      expect(d, reg).toBeDefined();
      expect(d.a.class).toBe(`seam-left:${reg}`);
      expect(d.a.evidence.map((e) => `${e.file}:${e.line}`)).toEqual([`${TDXCALL}:${stores[i]}`]);
      expect(d.b.class).toBe('not returned');
      expect(d.b.evidence).toEqual([]);
    }
  });

  it('#UD/#GP: an oops in v3 (no exception-table entry), TDX_SEAMCALL_UD/GP returned in 6.12 through the fixup', async () => {
    const p = only(await get());
    for (const [cls, vector, status] of [['ud', 'UD', STATUS.TDX_SEAMCALL_UD], ['gp', 'GP', STATUS.TDX_SEAMCALL_GP]] as const) {
      // tdx-facts.md §1.7: TDX_SEAMCALL_UD = 0x8000FF0000000006, TDX_SEAMCALL_GP = 0x8000FF000000000D.
      expect(hex(status)).toBe(vector === 'UD' ? '0x8000ff0000000006' : '0x8000ff000000000d');
      expect(find(p, `${cls}/end`)).toMatchObject({ a: { class: `oops #${vector}` }, b: { class: `returned via exception table (#${vector})` } });
      expect(find(p, `${cls}/return`)).toMatchObject({ a: { class: 'none' }, b: { class: hex(status) } });
    }
    // The 6.12 side's return value is made at .Lseamcall_trap\@: `orq %rdi, %rax`.
    const orq = lines('linux-6.12', /^\torq +%rdi, %rax$/)[0]!;
    expect(find(p, 'ud/return')!.b.evidence.map((e) => e.line)).toEqual([orq]);
  });

  it('R10/R11 reach the module from the caller\'s leftovers in v3 and from the struct in 6.12', async () => {
    const p = only(await get());
    const loads = { r10: lines('linux-6.12', /^\tmovq\tTDX_MODULE_r10\(%rsi\), %r10$/)[0]!, r11: lines('linux-6.12', /^\tmovq\tTDX_MODULE_r11\(%rsi\), %r11$/)[0]! };
    for (const reg of ['r10', 'r11'] as const) {
      const d = find(p, `success/seam.in.${reg}`)!;
      expect(d.a.class).toBe(`leftover:${reg}`);
      expect(d.a.value).toContain(hex(canary(reg)));
      // The struct's field was not set by the call: 0, loaded by `movq TDX_MODULE_r1x(%rsi), %r1x`.
      expect(d.b.class).toBe('0x0');
      expect(d.b.evidence[0]!.line).toBe(loads[reg]);
    }
  });

  it('the success scenario\'s stored outputs do not differ', async () => {
    const p = only(await get());
    expect(p.differences.filter((d) => d.class === 'success' && d.group === 'output')).toEqual([]);
    expect(p.matrix.find((m) => m.class === 'success' && m.group === 'output')?.state).toBe('same');
  });
});

describe(`a revision against itself (seeds 1 and ${RANDOM_SEED}; SEAMLAB_FUZZ_SEED=${RANDOM_SEED} reproduces)`, () => {
  for (const [spec, fn] of [['linux-6.12', '__seamcall_saved_ret'], ['v3', '__seamcall'], ['linux-6.12', '__tdcall_ret']] as const) {
    for (const seed of [1, RANDOM_SEED]) {
      it(`${spec} ${fn} reports nothing (scenarios and 400 fuzz cases, seed ${seed})`, async () => {
        const r = await runDiff({ a: spec, b: spec, pairs: [{ a: { spec, fn }, b: { spec, fn } }], fuzz: { cases: 400, seed, jobs: 1 } });
        expect(r.exitStatus).toBe(0);
        expect(only(r).differences).toEqual([]);
        expect(only(r).fuzz).toMatchObject({ cases: 400, failingPairs: 0 });
      });
    }
  }
});

/** The fuzzer (no scenario matrix) against a patched copy; the shrunk counterexample must be a one-call scenario that reproduces. */
async function caught(base: 'v3' | 'linux-6.12', fn: string, patch: string, kind: RegExp): Promise<Difference> {
  const r = await runDiff({ a: base, b: `${base}+${patch}`, pairs: [{ a: { spec: base, fn }, b: { spec: `${base}+${patch}`, fn } }], scenarios: [], fuzz: { cases: 300, seed: 7, jobs: 1 } });
  expect(r.exitStatus).toBe(1);
  const d = only(r).differences.find((x) => kind.test(x.id));
  expect(d, only(r).differences.map((x) => x.id).join(', ')).toBeDefined();
  expect(d!.example).toMatchObject({ source: 'fuzz', confirmed: true });
  const file = parse(d!.example.yaml!) as Record<string, { handler: { script: unknown[] } }>;
  const side = base === 'v3' || fn.startsWith('__seamcall') ? 'seamcall' : 'tdcall';
  // One call: the handler's script has one answer.
  expect(file[side]!.handler.script).toHaveLength(1);
  // The printed scenario reproduces the difference in single mode.
  const sc = await scenarioFromObject(file, 'counterexample.yaml');
  const again = await runDiff({ a: base, b: `${base}+${patch}`, pairs: [{ a: { spec: base, fn }, b: { spec: `${base}+${patch}`, fn } }], scenarios: [sc] });
  expect(only(again).differences.map((x) => x.observation)).toContain(d!.observation);
  return d!;
}

describe('one-instruction regressions are caught by the fuzzer and shrunk to one call', () => {
  it('v3 without `jnc .Lno_vmfailinvalid`: a successful call returns TDX_SEAMCALL_VMFAILINVALID', async () => {
    const patch = makePatch('linux-6.1', TDXCALL, 'drop-jnc', (t) => t.replace(/\n\tjnc \.Lno_vmfailinvalid\n/, '\n'));
    const d = await caught('v3', '__seamcall', patch, /^(success|error)\/return$/);
    expect(d.b.class).toBe(hex(STATUS.TDX_SEAMCALL_VMFAILINVALID));
  });

  it('6.12 without `jc .Lseamcall_vmfailinvalid\\@`: VMfailInvalid falls through, returns RAX unchanged and stores outputs', async () => {
    const patch = makePatch('linux-6.12', TDXCALL, 'drop-jc', (t) => t.replace(/\n\tjc \.Lseamcall_vmfailinvalid\\@\n/, '\n'));
    const d = await caught('linux-6.12', '__seamcall_ret', patch, /^vmfailinvalid\/(return|output\.\w+)$/);
    expect(d.a.class === hex(STATUS.TDX_SEAMCALL_VMFAILINVALID) || d.a.class === 'not returned').toBe(true);
  });

  it('6.12 without `xorl %r10d, %r10d`: the SEAM side\'s R10 reaches the caller of __seamcall_saved_ret', async () => {
    const patch = makePatch('linux-6.12', TDXCALL, 'drop-xorl-r10', (t) => t.replace(/\n\txorl %r10d, %r10d\n/, '\n'));
    const d = await caught('linux-6.12', '__seamcall_saved_ret', patch, /^(success|error)\/after\.r10$/);
    expect(d.a.class).toBe('not a SEAM value');
    expect(d.b.class).toBe('seam');
  });

  it('6.12 storing R11 into args->r10: the caller gets the module\'s R11 for R10 and no R11', async () => {
    const patch = makePatch('linux-6.12', TDXCALL, 'wrong-field', (t) => t.replace(/\n\tmovq %r11, TDX_MODULE_r11\(%rsi\)\n/, '\n\tmovq %r11, TDX_MODULE_r10(%rsi)\n'));
    const d = await caught('linux-6.12', '__seamcall_ret', patch, /^\w+\/output\.r1[01]$/);
    expect(['seam-left:r10', 'seam-left:r11', 'not returned']).toContain(d.b.class);
  });
});

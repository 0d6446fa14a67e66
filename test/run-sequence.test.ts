/**
 * Sequences through real entry points: every step a call of the function
 * (plan → execute → check), one machine and one module state for the whole
 * sequence, each step's expectation compared with what the C caller got.
 *
 * The 6.12 host bring-up goes through the functions 6.12's
 * arch/x86/virt/vmx/tdx/tdx.c uses: seamcall_prerr (tdx.c:94, sc_retry_prerr
 * over __seamcall) for TDH.SYS.INIT (:121), LP.INIT (:170), CONFIG (:984),
 * KEY.CONFIG (:996); seamcall_prerr_ret (tdx.c:97, over __seamcall_ret) for
 * TDH.SYS.RD (read_sys_metadata_field, :265) and TDH.SYS.TDMR.INIT
 * (init_tdmr, :1065). 6.12 seamcall.S builds __seamcall from
 * TDX_MODULE_CALL host=1 without ret=1, so it stores nothing into *args
 * (tdxcall.S: the outputs are written back only for \ret).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDisassembler } from '../src/encode/capstone.js';

// The leak check (one of every call's ABI checks) follows register origins with Capstone.
beforeAll(async () => { await loadDisassembler(); });
import { resolveRevision } from '../src/intake/revision.js';
import type { Revision } from '../src/intake/types.js';
import { runDocumentSchema } from '../src/report/json-schema.js';
import { formatTable, runDocument } from '../src/report/run-report.js';
import { formatSequenceDetails } from '../src/report/sequence-report.js';
import { jobFailed, runJob } from '../src/run/main-job.js';
import { prepareRun } from '../src/run/run.js';
import { openSession, runSequence } from '../src/run/session.js';
import { BRINGUP_PHYS, builtinScenario } from '../src/seam/builtin-scenarios.js';
import { SEAMCALL_LEAF } from '../src/seam/codes.js';
import type { SeamRoot } from '../src/seam/p-seamldr.js';
import { scenarioFromText } from '../src/seam/scenario-file.js';
import { testImage } from './support/images.js';

const L612 = resolveRevision('linux-6.12');
const V3 = resolveRevision('v3');
const buildImage = (rev: Revision, file: string) => testImage(rev, file);
const fnOf = (rev: Revision, name: string) => rev.functions.find((f) => f.name === name)!;
const runSeq = (rev: Revision, fn: string, scenario: Parameters<typeof runSequence>[2]) => {
  const f = fnOf(rev, fn);
  return runSequence(testImage(rev, f.sourceFile), f, scenario, { revision: rev.name });
};

const TDX_SUCCESS = 0n;
const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
const TDX_SYS_LP_INIT_NOT_PENDING = 0xC000050B00000000n;
const GIB = 1n << 30n;

/** The entry point 6.12's tdx.c makes each bring-up call through (see the header). */
function kernelFunction(leaf: bigint): string {
  return leaf === BigInt(SEAMCALL_LEAF['TDH.SYS.RD']) || leaf === BigInt(SEAMCALL_LEAF['TDH.SYS.TDMR.INIT']) ? '__seamcall_ret' : '__seamcall';
}

describe('the 6.12 host bring-up through the real __seamcall and __seamcall_ret, against one module state', () => {
  it('runs end to end with every step checked', async () => {
    const seq = builtinScenario('bringup-6.12')!.sequence!;
    const s = await openSession('linux-6.12', { handler: seq.handler, memory: seq.memory, buildImage });
    try {
      const steps = seq.steps.map((st, i) => ({ fn: kernelFunction(st.call.leaf), r: s.step(kernelFunction(st.call.leaf), st, i) }));
      expect(steps.map(({ fn, r }) => `${r.leafName} ${fn} ×${r.calls.length}`)).toEqual([
        'TDH.SYS.INIT __seamcall ×1',
        ...[0, 1, 2, 3].map(() => 'TDH.SYS.LP.INIT __seamcall ×1'),
        ...[0, 1, 2, 3, 4].map(() => 'TDH.SYS.RD __seamcall_ret ×1'),
        'TDH.SYS.CONFIG __seamcall ×1',
        'TDH.SYS.KEY.CONFIG __seamcall ×1', 'TDH.SYS.KEY.CONFIG __seamcall ×1',
        // tdh_sys_tdmr_init.c: 4 MiB per call, so a 1 GiB TDMR takes 256 calls of init_tdmr's loop.
        'TDH.SYS.TDMR.INIT __seamcall_ret ×256',
      ]);
      // Every step's expectations were checked (none n/a) and held; every call returned with the ABI checks passing.
      for (const { r } of steps) {
        expect(r.checks.length, `step ${r.index + 1}`).toBeGreaterThan(0);
        expect(r.checks.filter((c) => c.status !== 'pass'), `step ${r.index + 1}`).toEqual([]);
        expect(r.calls.every((c) => c.ok && c.end.kind === 'returned' && c.checks.every((x) => x.status === 'pass'))).toBe(true);
      }
      // get_tdx_tdmr_sysinfo: R8 of the five SYS.RDs (tdx_global_data.h MAX_TDMRS 64; metadata_sys.c 16, 16, 16, 16).
      expect(steps.slice(5, 10).map(({ r }) => r.calls[0]!.outputs[0]!.fields.find((f) => f.name === 'r8')!.value)).toEqual([64n, 16n, 16n, 16n, 16n]);
      // init_tdmr stops when the module's RDX (next address to initialise) reaches the TDMR's end.
      const last = steps.at(-1)!.r.calls.at(-1)!;
      expect(last.outputs[0]!.fields.find((f) => f.name === 'rdx')!.value).toBe(GIB);
      // One module state: it is READY now, and it served every SEAMCALL of every call.
      expect((s.handler as SeamRoot).module.state.sys).toBe('ready');
      expect(s.seamCalls).toBe(269);
      // The physical memory carried over: TDH.SYS.CONFIG read the TDMR_INFO the sequence wrote at BRINGUP_PHYS.
      expect(steps[10]!.r.calls[0]!.seamCalls[0]!.regsIn.rcx).toBe(BRINGUP_PHYS);
    } finally {
      s.close();
    }
  });
});

describe('runSequence: a sequence scenario through one entry point', () => {
  it('bringup-6.12 through 6.12 __seamcall_ret: 14 steps, 269 calls, every expectation met', () => {
    const r = runSeq(L612, '__seamcall_ret', builtinScenario('bringup-6.12')!);
    expect([r.ok, r.steps.length, r.calls, r.notRun]).toEqual([true, 14, 269, 0]);
    expect(r.steps.flatMap((s) => s.checks).every((c) => c.status === 'pass')).toBe(true);
    expect(r.steps[13]!.checks.find((c) => c.what === 'repeat')).toMatchObject({ status: 'pass', actual: GIB, detail: '256 calls' });
  });

  it('through 6.12 __seamcall, what the function does not return is n/a (and the TDMR.INIT loop calls once)', () => {
    const r = runSeq(L612, '__seamcall', builtinScenario('bringup-6.12')!);
    expect(r.ok).toBe(true);
    expect(r.calls).toBe(14);
    expect(r.steps[5]!.checks.map((c) => [c.what, c.status])).toEqual([['status', 'pass'], ['outputs.r8', 'n/a']]);
    expect(r.steps[13]!.checks.map((c) => [c.what, c.status])).toEqual([['repeat', 'n/a'], ['status', 'pass'], ['outputs.rdx', 'n/a']]);
    const table = formatTable([], { sequences: [r] });
    expect(table).toMatch(/^ {4}\* bringup-6\.12 steps 6, 7, 8, 9, 10: __seamcall does not return R8 to its caller; not checked$/m);
    expect(table).toMatch(/^ {4}\* bringup-6\.12 step 14: __seamcall does not return RDX to its caller: called once, not until RDX reached 0x40000000; not checked$/m);
    expect(table).toMatch(/^1 sequence \(14 calls\): every step as expected; 1 with expectations the entry point cannot show \(\*\)$/m);
  });

  it('sys-init-retry through v3 __seamcall: TDX_RND_NO_ENTROPY three times, then success (tdh_sys_init.c)', () => {
    const r = runSeq(V3, '__seamcall', builtinScenario('sys-init-retry')!);
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => s.calls[0]!.returnValue)).toEqual([TDX_RND_NO_ENTROPY, TDX_RND_NO_ENTROPY, TDX_RND_NO_ENTROPY, TDX_SUCCESS]);
  });

  it('a failed expectation fails the sequence; a call that does not return ends it', async () => {
    const sc = await scenarioFromText(`
name: bad-order
sequence:
  handler: { model: tdx-module, module: { state: uninitialized } }
  steps:
    - call: { leaf: TDH.SYS.LP.INIT }
      expect: { status: TDX_SUCCESS }
    - call: { leaf: TDH.SYS.INIT }
      env: { cpl: 3 }
      expect: { status: TDX_SUCCESS }
    - call: { leaf: TDH.SYS.INIT }
`, 'bad-order.yaml');
    // v3 __seamcall has no __ex_table entry: SEAMCALL at CPL 3 (#GP, SDM) oopses there.
    const r = runSeq(V3, '__seamcall', sc);
    expect(r.ok).toBe(false);
    expect(r.notRun).toBe(1);
    // tdh_sys_lp_init.c: LP.INIT before SYS.INIT → TDX_SYS_LP_INIT_NOT_PENDING.
    expect(r.steps[0]!.checks).toEqual([{ what: 'status', expected: TDX_SUCCESS, actual: TDX_SYS_LP_INIT_NOT_PENDING, status: 'fail' }]);
    expect(r.steps[1]!.checks).toEqual([{ what: 'status', expected: TDX_SUCCESS, status: 'fail', detail: 'the call did not return: oops' }]);
    expect(jobFailed([], false, [r])).toBe(true);
    const table = formatTable([], { sequences: [r], width: 80 });
    expect(formatTable([], { sequences: [r] })).toMatch(/^ {2}bad-order \(sequence\): 3 steps, 2 calls against one tdx-module state; step 1 FAILED; stopped after step 2 \(oops\), 1 step not run$/m);
    expect(table.split('\n').filter((l) => l.length > 80)).toEqual([]);
    expect(formatTable([], { sequences: [r] })).toMatch(/^ {4}1 +TDH\.SYS\.LP\.INIT +0 +1 +TDX_SYS_LP_INIT_NOT_PENDING +FAIL status: expected TDX_SUCCESS +ok$/m);
    expect(formatSequenceDetails(r)).toMatch(/^ {4}FAIL {2}status: expected TDX_SUCCESS, got TDX_SYS_LP_INIT_NOT_PENDING$/m);
  });

  it('keeps physical memory across calls and places each call\'s buffers after the sequence\'s memory', async () => {
    const sc = await scenarioFromText(`
name: info-twice
sequence:
  memory: [{ phys: 0x40000000, u64: [0x1122334455667788] }]
  steps:
    - call: { leaf: SEAMLDR.INFO, inputs: { rcx: { phys: 256, align: 256, fill: 0xee } } }
      expect: { status: 0 }
    - call: { leaf: SEAMLDR.INFO, inputs: { rcx: { phys: 256, align: 256 } } }
`, 'info-twice.yaml');
    const f = fnOf(L612, '__seamcall_ret');
    const r = runSequence(testImage(L612, f.sourceFile), f, sc, { revision: 'linux-6.12' });
    expect(r.ok).toBe(true);
    // The buffer is on the page after the memory written at 0x40000000, for both calls.
    expect(r.steps.map((s) => s.calls[0]!.seamCalls[0]!.regsIn.rcx)).toEqual([0x40001000n, 0x40001000n]);
    // P-SEAMLDR codes: PSEAMLDR_SUCCESS (pseamldr_api_defs.h) names the status of a bit-63 leaf.
    expect(r.steps[0]!.calls[0]!.returnName).toBe('PSEAMLDR_SUCCESS');
  });
});

describe('single-call entry into a sequence', () => {
  it('prepareRun (trace, debug) refuses a sequence and says how to run it', () => {
    const f = fnOf(L612, '__seamcall_ret');
    expect(() => prepareRun(testImage(L612, f.sourceFile), f, builtinScenario('bringup-6.12')!, { revision: 'linux-6.12' }))
      .toThrow(expect.objectContaining({ code: 'RUN_SEQUENCE', hint: expect.stringMatching(/seamlab run REV --fn __seamcall_ret --scenario bringup-6\.12/) }));
  });
});

describe('the job and its report', () => {
  it('runJob runs a sequence through the selected entry point, with table, details and JSON', () => {
    const job = runJob(L612, { functions: ['__seamcall_ret'], scenarios: [builtinScenario('sys-init-retry')!], buildImage });
    expect(job.results).toEqual([]);
    expect(job.sequences.map((s) => [s.function, s.scenario.name, s.ok])).toEqual([['__seamcall_ret', 'sys-init-retry', true]]);
    const table = formatTable(job.results, { sequences: job.sequences, width: 80 });
    expect(table.split('\n').filter((l) => l.length > 80)).toEqual([]);
    expect(table).toMatch(/^ {4}step +leaf +LP +calls +returned +expected +ABI$/m);
    expect(table).toMatch(/^ {4}3 +TDH\.SYS\.INIT +0 +1 +TDX_RND_NO_ENTROPY +ok \(status\) +ok$/m);
    expect(table).toMatch(/^ {4}4 +TDH\.SYS\.INIT +0 +1 +TDX_SUCCESS +ok \(status\) +ok$/m);
    const doc: unknown = JSON.parse(JSON.stringify(runDocument({ revision: L612, profile: 'default', results: job.results, sequences: job.sequences, skipped: job.skipped, failed: job.failed, jobFailed: false }),
      (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
    const d = runDocumentSchema.parse(doc);
    expect(d.sequences).toHaveLength(1);
    expect(d.sequences[0]!.steps.map((s) => s.checks[0]!.actual)).toEqual(['0x8000020300000000', '0x8000020300000000', '0x8000020300000000', '0x0']);
    expect(d.summary).toMatchObject({ runs: 0, sequences: 1, failed: false });
  });
});

describe('openSession', () => {
  it('calls entry points against one module state and gives the caller\'s view', async () => {
    const s = await openSession(L612, { module: { state: 'uninitialized', lps: 1 }, buildImage });
    try {
      // tdh_sys_init.c: the first SYS.INIT succeeds, the second finds sys_state past SYSINIT_PENDING.
      expect(s.call('__seamcall', { leaf: 'TDH.SYS.INIT' })).toMatchObject({ status: TDX_SUCCESS, statusName: 'TDX_SUCCESS', ok: true, function: '__seamcall' });
      expect(s.call('__seamcall', { leaf: 'TDH.SYS.LP.INIT' }).status).toBe(TDX_SUCCESS);
      expect(s.call('__seamcall', { leaf: 'TDH.SYS.INIT' }).statusName).toBe('TDX_SYS_INIT_NOT_PENDING');
      // tdh_sys_rd.c: R8 = MAX_TDMRS (64), RDX = the next field id; __seamcall_ret returns them in *args.
      const rd = s.call('__seamcall_ret', { leaf: 'TDH.SYS.RD', rdx: '0x9100000100000008' });
      expect([rd.out.r8, rd.out.rdx]).toEqual([64n, 0x9100000100000009n]);
      // __seamcall stores nothing: the caller sees no registers.
      expect(s.call('__seamcall', { leaf: 0x22n, rdx: 0x9100000100000008n }).out).toEqual({});
      expect(s.seamCalls).toBe(5);
      expect(() => s.call('__tdcall', { leaf: 'TDG.VP.INFO' })).toThrow(/__tdcall makes TDCALLs; this session serves SEAMCALLs/);
      expect(() => s.call('__nope', { leaf: 'TDH.SYS.INIT' })).toThrow(/linux-6\.12 has no TDX entry point named __nope/);
      expect(() => s.call('__seamcall', { leaf: 'TDH.NOPE' })).toThrow(/unknown leaf/);
      expect(() => s.call('__seamcall', { leaf: 1n, rdx: 2 ** 60 })).toThrow(/lose precision/);
    } finally {
      s.close();
    }
  });

  it('a guest session serves TDCALLs with the TD-guest model', async () => {
    const s = await openSession(L612, { guest: { numVcpus: 8, maxVcpus: 8 }, buildImage });
    try {
      // tdg_vp_info.c: R8 = MAX_VCPUS << 32 | NUM_VCPUS; R9 = the VCPU index.
      const r = s.call('__tdcall_ret', { leaf: 'TDG.VP.INFO', env: { lp: 3 } });
      expect([r.status, r.out.r8, r.out.r9]).toEqual([0n, 0x800000008n, 3n]);
    } finally {
      s.close();
    }
  });
});

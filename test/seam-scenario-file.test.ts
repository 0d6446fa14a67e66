/**
 * User scenarios: YAML/JSON validated with zod, errors that point at the
 * field (file:line:col), numbers and names, and handler modules loaded at
 * run time (plain JavaScript and TypeScript).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseNumber, resolveScenario, scenarioFromObject } from '../src/seam/scenario-file.js';
import { createHandler } from '../src/seam/scenario.js';
import { HOST_ENV, GUEST_ENV, type SeamCall } from '../src/seam/types.js';
import type { ErrorCode } from '../src/error-codes.js';
import { isSeamlabError } from '../src/errors.js';
import { resolveRevision } from '../src/intake/revision.js';
import { runJob } from '../src/run/main-job.js';
import { seamlab } from './support/cli.js';
import { testImage } from './support/images.js';

const FIX = resolve(import.meta.dirname, '../fixtures/scenarios');
const dir = mkdtempSync(join(tmpdir(), 'seamlab-sctest-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
async function error(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string; notes: string[] }> {
  try {
    await p;
  } catch (e) {
    if (isSeamlabError(e)) return { code: e.code, message: e.message, notes: e.notes };
    throw e;
  }
  throw new Error('expected a SeamlabError');
}
const fakeCall = (regs: Record<string, bigint>): SeamCall => ({ kind: 'seamcall', index: 0, rip: 0n, rflags: 2n, regs: regs as SeamCall['regs'], env: HOST_ENV, mem: undefined as never });

describe('numbers and names', () => {
  it('reads hex, decimal, underscores, status names with operand ids, and leaf names', () => {
    expect(parseNumber('0x8000_0203_0000_0000')).toBe(0x8000020300000000n);
    expect(parseNumber('42')).toBe(42n);
    expect(parseNumber(-1)).toBe(0xffffffffffffffffn);
    expect(parseNumber('TDX_OPERAND_INVALID|RDX')).toBe(0xC000010000000002n);
    expect(parseNumber('TDH.SYS.RD', true)).toBe(34n);
    expect(parseNumber('SEAMLDR.INFO', true)).toBe(0x8000000000000000n);
    expect(parseNumber(2 ** 60)).toMatch(/lose precision/);
    expect(parseNumber('0x1_0000_0000_0000_0000')).toMatch(/does not fit in 64 bits/);
    expect(parseNumber('TDX_NOPE')).toMatch(/unknown value "TDX_NOPE"/);
  });
});

describe('YAML and JSON scenarios', () => {
  it('loads a YAML scenario with a script falling back to the model', async () => {
    const s = await loadScenarioFile(`${FIX}/entropy-retry.yaml`);
    expect(s.name).toBe('entropy-retry');
    expect(s.cases.tdcall).toBeUndefined();
    const c = s.cases.seamcall!;
    expect(c.call).toEqual({ leaf: 34n, inputs: { rdx: 0x9100000100000008n } });
    expect(c.env).toEqual(HOST_ENV);
    const h = createHandler(c.handler);
    const call = fakeCall({ rax: 34n, rdx: 0x9100000100000008n });
    expect(h.handle(call)).toEqual({ kind: 'return', rax: 0x8000020300000000n });
    expect(h.handle(call)).toMatchObject({ kind: 'return', rax: 0n, regs: { r8: 64n } });
  });

  it('loads JSON with physical buffers', async () => {
    const s = await loadScenarioFile(`${FIX}/sysinfo.json`);
    expect(s.cases.seamcall!.call.inputs).toEqual({ rcx: { phys: 1024, align: 1024 }, rdx: 1024n, r8: { phys: 512, align: 512 }, r9: 32n });
  });

  it('points each bad field at its line and column, with the reason', async () => {
    const p = file('bad.yaml', [
      'name: Bad Name',
      'seamcall:',
      '  call:',
      '    leaf: TDH.NOPE',
      '    inputs: { rsp: 1, rdx: { phys: 0 } }',
      '  env: { cpl: 7, turbo: true }',
      '  handler: { script: [ { fault: NMI } ] }',
    ].join('\n'));
    const e = await error(loadScenarioFile(p));
    expect(e.code).toBe('SCENARIO_INVALID');
    expect(e.message).toBe(`${p}:1:7: name: use lower-case letters, digits, ".", "_" and "-"`);
    expect(e.notes).toEqual([
      `${p}:4:11: seamcall.call.leaf: unknown leaf "TDH.NOPE" (use a number or a name such as TDH.SYS.RD, TDG.VP.INFO, SEAMLDR.INFO)`,
      // column 36 is the value 0; a key error points at the map's "{" (column 13, column 8)
      `${p}:5:36: seamcall.call.inputs.rdx.phys: Too small: expected number to be >0`,
      `${p}:5:13: seamcall.call.inputs: Unrecognized key: "rsp"`,
      `${p}:6:15: seamcall.env.cpl: Too big: expected number to be <=3`,
      `${p}:6:8: seamcall.env: Unrecognized key: "turbo"`,
    ]);
  });

  it('needs at least one side', async () => {
    const e = await error(loadScenarioFile(file('empty.json', '{ "name": "x" }')));
    expect(e.message).toMatch(/empty\.json:1:1: \(top level\): give a seamcall \(host\) case, a tdcall \(guest\) case, both, or a sequence/);
  });

  it('refuses VMfail answers to a TDCALL where they are written (SDM TDCALL: #UD, #GP(0) or a VM exit only)', async () => {
    const e = await error(loadScenarioFile(file('tdfail.yaml', 'name: x\ntdcall:\n  call: { leaf: TDG.VP.INFO }\n  handler:\n    script:\n      - return: { rax: 0 }\n      - vmfailinvalid\n')));
    expect(e.code).toBe('SCENARIO_INVALID');
    expect(e.message).toMatch(/tdfail\.yaml:7:9: tdcall\.handler\.script\.1: TDCALL has no VMfailInvalid outcome/);
    const e2 = await error(loadScenarioFile(file('tdfail2.yaml', 'name: x\ntdcall:\n  call: { leaf: TDG.VP.INFO }\n  handler: { script: [ { return: { rax: 0 } } ], then: { script: [ { vmfailvalid: { note: n } } ] } }\n')));
    expect(e2.message).toMatch(/tdfail2\.yaml:4:\d+: tdcall\.handler\.then\.script\.0: TDCALL has no VMfailValid outcome/);
  });

  it('refuses "interrupted" for a SEAMCALL (SEAMRET always resumes after the instruction) and takes it for a TDCALL', async () => {
    const e = await error(loadScenarioFile(file('hostint.yaml', 'name: x\nseamcall:\n  call: { leaf: TDH.SYS.INIT }\n  handler: { script: [ interrupted ] }\n')));
    expect(e.message).toMatch(/hostint\.yaml:4:\d+: seamcall\.handler\.script\.0: a SEAMCALL always resumes/);
    const s = await loadScenarioFile(file('guestint.yaml', 'name: x\ntdcall:\n  call: { leaf: TDG.MR.REPORT }\n  handler: { script: [ interrupted, { interrupted: { note: again } } ] }\n'));
    expect(s.cases.tdcall!.handler).toEqual({ script: [{ kind: 'interrupted' }, { kind: 'interrupted', note: 'again' }] });
  });

  it('takes the new model settings: module version, entropy count, CMRs, busy locks, TDs; guest GPAW 48/52 only', async () => {
    const s = await loadScenarioFile(file('cfg.yaml', `name: x
seamcall:
  call: { leaf: TDH.SYS.INIT }
  handler:
    model: tdx-module
    module:
      version: "2.0"
      entropy: 2
      cmrs: [ { base: 0, size: 0x100000000 } ]
      busy: [ { lock: global, times: 2 } ]
      tds: [ { tdr: 0x100000, hkid: 40, vcpus: [ { tdvpr: 0x108000, exits: [ { kind: async, reason: 48 } ] } ] } ]
`));
    expect(s.cases.seamcall!.handler).toMatchObject({ model: 'tdx-module', module: { version: '2.0', entropy: 2, cmrs: [{ base: 0n, size: 0x100000000n }], busy: [{ lock: 'global', times: 2 }] } });
    const e = await error(loadScenarioFile(file('gpaw.yaml', 'name: x\ntdcall:\n  call: { leaf: TDG.VP.INFO }\n  handler: { model: td-guest, guest: { gpaw: 50 } }\n')));
    expect(e.message).toMatch(/gpaw\.yaml:4:\d+: tdcall\.handler\.guest\.gpaw/);
  });

  it('reports YAML syntax errors with a position', async () => {
    const e = await error(loadScenarioFile(file('syntax.yaml', 'name: x\nseamcall: {call: [\n')));
    expect(e.code).toBe('SCENARIO_SYNTAX');
    expect(e.message).toMatch(/syntax\.yaml:\d+:\d+: /);
  });

  it('keeps 64-bit values written unquoted in YAML', async () => {
    const s = await loadScenarioFile(file('big.yaml', 'name: big\nseamcall:\n  call: { leaf: 34, inputs: { rdx: 0xffffffffffffffff } }\n'));
    expect(s.cases.seamcall!.call.inputs.rdx).toBe(0xffffffffffffffffn);
  });

  it('says when neither a built-in nor a file', async () => {
    const e = await error(resolveScenario('no-such-scenario'));
    expect(e.code).toBe('SCENARIO_NOT_FOUND');
  });
});

describe('handlers from modules', () => {
  it('a YAML scenario names a JavaScript handler module relative to itself (loaded only with allowCode)', async () => {
    const refused = await error(loadScenarioFile(`${FIX}/own-handler.yaml`));
    expect(refused.code).toBe('SCENARIO_CODE_NOT_ALLOWED');
    expect(refused.message).toBe(`${FIX}/own-handler.yaml:5:22: seamcall.handler.module: this YAML scenario runs the module ./echo-handler.mjs as code, with your privileges`);
    const s = await loadScenarioFile(`${FIX}/own-handler.yaml`, { allowCode: true });
    const h = createHandler(s.cases.seamcall!.handler);
    expect(h.handle(fakeCall({ rax: 34n, rdx: 5n }))).toEqual({ kind: 'return', rax: 0n, regs: { r8: 5n } });
  });

  it('a TypeScript module exports a whole scenario with its own handler class', async () => {
    const s = await loadScenarioFile(`${FIX}/module-scenario.ts`);
    expect(s.name).toBe('flaky-module');
    expect(s.cases.tdcall!.env).toEqual({ ...GUEST_ENV, lp: 1 });
    const h = createHandler(s.cases.seamcall!.handler);
    expect(h.handle(fakeCall({ rax: 33n })).kind).toBe('vmfailinvalid');
    expect(h.handle(fakeCall({ rax: 33n }))).toEqual({ kind: 'return', rax: 33n });
  });

  it('a TypeScript module exporting only a handler answers the built-in success calls', async () => {
    const s = await loadScenarioFile(`${FIX}/clobber-rbx.ts`);
    expect(s.name).toBe('clobber-rbx');
    expect(s.cases.seamcall!.call.leaf).toBe(34n);
    expect(createHandler(s.cases.seamcall!.handler).handle(fakeCall({}))).toEqual({ kind: 'return', rax: 0n, regs: { rbx: 0x1234n } });
  });

  it('a module with neither export is refused; a module that does not compile names the error', async () => {
    expect((await error(loadScenarioFile(file('none.mjs', 'export const x = 1;\n')))).code).toBe('SCENARIO_BAD_MODULE');
    expect((await error(loadScenarioFile(file('broken.ts', 'export const handler = {\n')))).code).toBe('SCENARIO_TS_ERROR');
  });

  it('an object scenario may carry a handler object directly', async () => {
    const s = await scenarioFromObject({ name: 'obj', seamcall: { call: { leaf: 33n }, handler: { handler: (c: SeamCall) => ({ kind: 'return', rax: c.regs.rax + 1n }) } } }, 'inline');
    expect(createHandler(s.cases.seamcall!.handler).handle(fakeCall({ rax: 1n }))).toEqual({ kind: 'return', rax: 2n });
  });
});

describe('handler state does not carry over from one run to the next', () => {
  it('an inline handler object: each run gets a fresh copy of it as it was given', async () => {
    const counting = {
      name: 'counting',
      calls: 0,
      seen: [] as bigint[],
      handle(c: SeamCall) {
        this.calls++;
        this.seen.push(c.regs.rax);
        return this.calls === 1 ? { kind: 'vmfailinvalid' as const } : { kind: 'return' as const, rax: 0n };
      },
    };
    const s = await scenarioFromObject({ name: 'counting', seamcall: { call: { leaf: 33n }, handler: { handler: counting } } }, 'inline');
    for (let run = 0; run < 3; run++) {
      const h = createHandler(s.cases.seamcall!.handler);
      expect(h.handle(fakeCall({ rax: 33n }))).toEqual({ kind: 'vmfailinvalid' });
      expect(h.handle(fakeCall({ rax: 33n }))).toEqual({ kind: 'return', rax: 0n });
    }
    // The object the user gave is untouched.
    expect(counting.calls).toBe(0);
    expect(counting.seen).toEqual([]);
  });

  it('a module-scenario handler instance: every linux-6.12 SEAMCALL function sees its first call', async () => {
    // Flaky answers VMfailInvalid to its first call only; each function's run is its first call.
    const s = await loadScenarioFile(`${FIX}/module-scenario.ts`);
    const { results } = runJob(resolveRevision('linux-6.12'), { functions: ['__seamcall', '__seamcall_ret', '__seamcall_saved_ret'], scenarios: [s], buildImage: (rev, f) => testImage(rev, f) });
    expect(results.map((r) => r.seamCalls[0]!.outcome.kind)).toEqual(['vmfailinvalid', 'vmfailinvalid', 'vmfailinvalid']);
  });
});

describe("scenario modules that import 'seamlab'", () => {
  it('work outside the checkout (.ts and .mjs), through the bundled CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seamlab-outside-'));
    try {
      copyFileSync(`${FIX}/uses-lib.ts`, join(dir, 'uses-lib.ts'));
      copyFileSync(`${FIX}/uses-lib.mjs`, join(dir, 'uses-lib.mjs'));
      const r = seamlab(['run', 'v3', '--fn', '__seamcall', '--scenario', join(dir, 'uses-lib.ts'), join(dir, 'uses-lib.mjs')]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.match(/^ {2}uses-lib +TDH\.SYS\.RD +TDX_SUCCESS \(answered by a module importing seamlab\) +0x0 TDX_SUCCESS +out: rcx=0 rdx=0x9100000100000008 r8=0x40 /gm)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a module whose top-level code throws is a user error (exit 2), not an internal one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seamlab-outside-'));
    try {
      writeFileSync(join(dir, 'throws.mjs'), "throw new Error('not today');\n");
      const r = seamlab(['run', 'v3', '--scenario', join(dir, 'throws.mjs')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/throws\.mjs failed while loading: not today \[SCENARIO_MODULE_ERROR\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

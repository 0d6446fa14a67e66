/**
 * Scenarios without a file (`seamlab run … --leaf L --reg r=v --answer A`)
 * and scenarios written out as files (`seamlab scenarios --show NAME`):
 * inlineScenario's parsing and errors, and scenarioToYaml's round trip
 * through the loader for every built-in, sequences included.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS, BUILTIN_SEQUENCES } from '../src/seam/builtin-scenarios.js';
import { inlineScenario, scenarioToYaml } from '../src/seam/inline.js';
import { scenarioFromText } from '../src/seam/scenario-file.js';
import { createHandler } from '../src/seam/scenario.js';
import { HOST_ENV, GUEST_ENV } from '../src/seam/types.js';
import { isSeamlabError } from '../src/errors.js';
import { mkCall } from './support/seam-calls.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isSeamlabError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a SeamlabError');
}

describe('inlineScenario', () => {
  it('a named host leaf with --reg inputs, answered by the model', () => {
    const s = inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['rdx=0x9100000100000008'] });
    expect(s.name).toBe('inline');
    expect(s.source).toBe('inline');
    expect(s.cases.tdcall).toBeUndefined();
    expect(s.cases.seamcall).toEqual({ call: { leaf: 34n, inputs: { rdx: 0x9100000100000008n } }, env: HOST_ENV, handler: { model: 'tdx-module' } });
    expect(s.summary).toBe('TDH.SYS.RD rdx=0x9100000100000008 answered by the tdx-module model');
  });
  it('guest leaves go to the TDCALL side; versions and numbers are leaves too', () => {
    expect(inlineScenario({ leaf: 'TDG.VM.RD v1', regs: { rdx: '0x1110000300000016' } }).cases.tdcall).toMatchObject({ call: { leaf: 0x10007n }, env: GUEST_ENV, handler: { model: 'td-guest' } });
    expect(inlineScenario({ leaf: '0x22' }).cases.seamcall!.call.leaf).toBe(34n);
    expect(inlineScenario({ leaf: '1', kind: 'tdcall' }).cases.tdcall!.call.leaf).toBe(1n);
  });
  it('answers: success, vmfailinvalid, ud, gp, interrupted and statuses become a one-answer script', () => {
    const answer = (a: string, leaf = 'TDH.SYS.INIT') => {
      const s = inlineScenario({ leaf, answer: a });
      const c = (s.cases.seamcall ?? s.cases.tdcall)!;
      return createHandler(c.handler).handle(mkCall({ rax: c.call.leaf }));
    };
    expect(answer('success')).toEqual({ kind: 'return', rax: 0n });
    expect(answer('vmfailinvalid')).toEqual({ kind: 'vmfailinvalid' });
    expect(answer('UD')).toEqual({ kind: 'fault', vector: 'UD' });
    expect(answer('gp')).toEqual({ kind: 'fault', vector: 'GP' });
    expect(answer('TDX_RND_NO_ENTROPY')).toEqual({ kind: 'return', rax: 0x8000020300000000n });
    expect(answer('TDX_OPERAND_INVALID|RCX')).toEqual({ kind: 'return', rax: 0xC000010000000001n });
    expect(answer('0x8000020200000000')).toEqual({ kind: 'return', rax: 0x8000020200000000n });
    expect(answer('interrupted', 'TDG.MR.REPORT')).toEqual({ kind: 'interrupted' });
  });
  it('refuses unknown leaves, registers and answers, and answers the instruction cannot give', () => {
    expect(code(() => inlineScenario({ leaf: 'TDH.NOPE' }))).toMatch(/^INLINE_UNKNOWN_LEAF: unknown leaf "TDH.NOPE"/);
    expect(code(() => inlineScenario({ leaf: 'TDG.VP.INFO', kind: 'seamcall' }))).toMatch(/^INLINE_UNKNOWN_LEAF: TDG.VP.INFO is a TDCALL leaf/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['rdx'] }))).toMatch(/^INLINE_BAD_REGISTER: --reg rdx: expected REG=VALUE/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['xmm0=1'] }))).toMatch(/^INLINE_BAD_REGISTER: unknown register xmm0/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['rax=1'] }))).toMatch(/^INLINE_BAD_REGISTER: RAX carries the leaf/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['rsp=1'] }))).toMatch(/^INLINE_BAD_REGISTER: RSP/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', regs: ['rdx=banana'] }))).toMatch(/^INLINE_BAD_VALUE: rdx=banana/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.RD', answer: 'maybe' }))).toMatch(/^INLINE_BAD_ANSWER/);
    // SDM TDCALL: no VMfail outcome; a SEAMCALL always resumes after the instruction.
    expect(code(() => inlineScenario({ leaf: 'TDG.VP.INFO', answer: 'vmfailvalid' }))).toMatch(/^INLINE_BAD_ANSWER: --answer vmfailvalid: TDCALL has no VMfail outcome/);
    expect(code(() => inlineScenario({ leaf: 'TDH.SYS.INIT', answer: 'interrupted' }))).toMatch(/^INLINE_BAD_ANSWER: --answer interrupted: a SEAMCALL always resumes/);
  });
});

describe('scenarioToYaml', () => {
  it('writes every built-in so that it loads back to the same scenario', async () => {
    for (const s of [...BUILTIN_SCENARIOS, ...BUILTIN_SEQUENCES]) {
      const back = await scenarioFromText(scenarioToYaml(s), `${s.name}.yaml`);
      expect({ ...back, source: 'builtin' }, s.name).toEqual(s);
    }
  });
  it('writes names for leaves and statuses and 0x… for 64-bit values', () => {
    const y = scenarioToYaml(BUILTIN_SCENARIOS.find((s) => s.name === 'vmfailvalid')!);
    expect(y).toContain('leaf: TDH.SYS.INIT');
    expect(y).toContain('vmfailvalid:\n');
    expect(scenarioToYaml(BUILTIN_SCENARIOS.find((s) => s.name === 'success')!)).toContain('rdx: 0x9100000100000008');
    expect(scenarioToYaml(inlineScenario({ leaf: 'TDH.SYS.INIT', answer: 'TDX_RND_NO_ENTROPY' }))).toContain('rax: TDX_RND_NO_ENTROPY');
  });
  it('refuses a handler that is code', () => {
    const s = { ...BUILTIN_SCENARIOS[0]!, cases: { seamcall: { ...BUILTIN_SCENARIOS[0]!.cases.seamcall!, handler: { custom: 'mine.ts', create: () => ({ name: 'x', handle: () => ({ kind: 'vmfailinvalid' as const }) }) } } } };
    expect(code(() => scenarioToYaml(s))).toMatch(/^SCENARIO_NOT_SERIALIZABLE: success.seamcall: the handler mine.ts is code/);
  });
});

/**
 * The trace recorder and the trace format. Expectations come from the
 * kernel source (the lines of tdxcall.S read from the cached tree, the
 * register moves tdx-facts.md §1 describes), not from earlier recordings.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPatch } from 'diff';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import { runScenario } from '../src/run/run.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import { compareTraces } from '../src/trace/compare.js';
import { TraceLineSchema, traceJsonSchema, type Trace } from '../src/trace/format.js';
import { parseTrace, serializeTrace } from '../src/trace/jsonl.js';
import { recordTrace } from '../src/trace/record.js';
import { renderDivergence } from '../src/report/golden-text.js';
import { gitBlobId } from '../src/support/cache.js';
import { testImage } from './support/images.js';
import { treePath } from './support/kernel.js';
import { seamlab } from './support/cli.js';

const scenario = (name: string) => BUILTIN_SCENARIOS.find((s) => s.name === name)!;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-trace-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function trace(rev: string, fn: string, sc: string): Promise<Trace> {
  return recordTrace({ revision: resolveRevision(rev), fn, scenario: scenario(sc) });
}

/** 1-based line numbers of `file` (tree-relative, in the cached 6.12 tree) whose text matches `re`. */
function linesOf(file: string, re: RegExp): number[] {
  const text = fs.readFileSync(path.join(treePath('linux-6.12'), file), 'utf8').split('\n');
  return text.flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

describe('recording', () => {
  it('v3 __seamcall × success: the R0 body step by step, as tdx-facts.md §1.1 describes it', async () => {
    const t = await trace('v3', '__seamcall', 'success');
    const asm = t.steps.map((s) => s.asm);
    // push %r12, push %r9 (the out pointer), then RDI→RAX, R8→R9, RCX→R8, RSI→RCX, seamcall.
    const at = asm.indexOf('seamcall');
    expect(asm.slice(at - 6, at + 1)).toEqual(['pushq %r12', 'pushq %r9', 'movq %rdi, %rax', 'movq %r8, %r9', 'movq %rcx, %r8', 'movq %rsi, %rcx', 'seamcall']);
    const call = t.steps[at]!;
    expect(call.src).toMatch(/^arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+$/);
    expect(call.macros).toEqual([expect.stringMatching(/^TDX_MODULE_CALL at arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+$/)]);
    expect(call.seam).toMatchObject({ kind: 'seamcall', index: 0, leaf: '0x22', leafName: 'TDH.SYS.RD', path: 'resumed', outcome: { kind: 'return', rax: '0x0' } });
    // VMsucceed clears the six status flags the caller left set (SDM Vol. 3C §30.2).
    expect(call.flags).toEqual({ set: [], cleared: ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'] });
    // After the call: *out gets RCX, RDX, R8, R9, R10, R11, in that order.
    const stores = t.steps.slice(at + 1).flatMap((s) => (s.mem ?? []).filter((m) => m.op === 'w').map((m) => m.label));
    expect(stores).toEqual(['out->rcx', 'out->rdx', 'out->r8', 'out->r9', 'out->r10', 'out->r11']);
    // pop %r12 restores it; the function returns through the sentinel.
    expect(t.steps.at(-1)).toMatchObject({ asm: 'retq', mem: [{ op: 'r', label: 'return address' }] });
    expect(t.summary).toMatchObject({ end: { kind: 'returned' }, returnValue: '0x0', returnName: 'TDX_SUCCESS', ok: true });
  });

  it('6.12 __seamcall_saved_ret × ud: the fault step names the fixup and RAX gets trapnr 6 (ex_handler_fault)', async () => {
    const t = await trace('linux-6.12', '__seamcall_saved_ret', 'ud');
    const at = t.steps.findIndex((s) => s.asm === 'seamcall');
    const call = t.steps[at]!;
    expect(call.seam).toMatchObject({ path: 'exception-table', outcome: { kind: 'fault', vector: 'UD' } });
    expect(call.fault?.vector).toBe(6);
    expect(call.regs?.rax?.[1]).toBe('0x6');
    expect(t.steps[at + 1]!.rip).toBe(call.fault!.fixup);
    // The fixup label .Lseamcall_trap\@ is followed by `shl $32, %rdi` … in tdxcall.S; the step after the fault comes from there.
    const trapLine = linesOf('arch/x86/virt/vmx/tdx/tdxcall.S', /^\.Lseamcall_trap\\@:/)[0]!;
    const next = Number(t.steps[at + 1]!.src!.split(':').at(-1));
    expect(next).toBeGreaterThan(trapLine);
    expect(t.summary.returnValue).toBe('0x8000ff0000000006');
  });

  it('6.12 __seamcall_ret × success: source lines are those of the kernel file, inside the macro', async () => {
    const t = await trace('linux-6.12', '__seamcall_ret', 'success');
    const call = t.steps.find((s) => s.asm === 'seamcall')!;
    expect(linesOf('arch/x86/virt/vmx/tdx/tdxcall.S', /^\tseamcall$/)).toContain(Number(call.src!.split(':')[1]));
    const r8Store = t.steps.find((s) => s.mem?.some((m) => m.label === 'args->r8' && m.op === 'w'))!;
    expect(linesOf('arch/x86/virt/vmx/tdx/tdxcall.S', /movq %r8, +TDX_MODULE_r8\(%rsi\)/)).toContain(Number(r8Store.src!.split(':')[1]));
  });

  it('identifies the source by the blob ids of the files the build read', async () => {
    const t = await trace('linux-6.12', '__seamcall', 'success');
    const inputs = new Map(t.header.revision.inputs.map((i) => [i.path, i.blob]));
    // tdx-facts.md §0 and §1: R5 tdxcall.S 016a2a1ec1d6, seamcall.S 5b1f2286aea9.
    expect(inputs.get('arch/x86/virt/vmx/tdx/tdxcall.S')?.slice(0, 12)).toBe('016a2a1ec1d6');
    expect(inputs.get('arch/x86/virt/vmx/tdx/seamcall.S')?.slice(0, 12)).toBe('5b1f2286aea9');
    expect(inputs.has('arch/x86/include/asm/tdx.h')).toBe(true);
    for (const [p, blob] of inputs) expect(gitBlobId(fs.readFileSync(path.join(treePath('linux-6.12'), p))), p).toBe(blob);
  });

  it('recording does not change what runs: the summary is the plain run\'s result', async () => {
    const rev = resolveRevision('linux-6.12');
    const fn = rev.functions.find((f) => f.name === '__seamcall_saved_ret')!;
    for (const sc of ['success', 'vmfailinvalid', 'gp']) {
      const plain = runScenario(testImage(rev, fn.sourceFile), fn, scenario(sc), { revision: 'linux-6.12' });
      const t = await trace('linux-6.12', '__seamcall_saved_ret', sc);
      expect(t.summary.instructions).toBe(plain.instructions);
      expect(t.summary.returnValue).toBe(plain.returnValue === undefined ? undefined : `0x${plain.returnValue.toString(16)}`);
      expect(t.summary.checks).toEqual(plain.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail })));
    }
  });

  it('is deterministic, valid against the schema, and round-trips through JSON Lines', async () => {
    const a = serializeTrace(await trace('v3', '__tdx_module_call', 'mr-report'));
    const b = serializeTrace(await trace('v3', '__tdx_module_call', 'mr-report'));
    expect(a).toBe(b);
    expect(a).not.toContain(os.homedir());
    for (const line of a.trim().split('\n')) expect(TraceLineSchema.safeParse(JSON.parse(line)).success).toBe(true);
    expect(serializeTrace(parseTrace(a, 't.jsonl'))).toBe(a);
    const schema = traceJsonSchema() as { $schema?: string; oneOf?: unknown[]; anyOf?: unknown[] };
    expect(schema.$schema).toContain('2020-12');
  });

  it('streams the same records it collects', async () => {
    const lines: string[] = [];
    const collected = await trace('linux-6.12', '__tdcall_saved_ret', 'vmcall');
    const streamed = await recordTrace({ revision: resolveRevision('linux-6.12'), fn: '__tdcall_saved_ret', scenario: scenario('vmcall') },
      { header: (h) => lines.push(JSON.stringify(h)), step: (s) => lines.push(JSON.stringify(s)) });
    expect(streamed.steps).toEqual([]);
    lines.push(JSON.stringify(streamed.summary));
    expect(lines.join('\n') + '\n').toBe(serializeTrace(collected));
  });

  it('rejects a damaged trace with the file, line and field', () => {
    expect(() => parseTrace('{"type":"step"}\n', 'x.jsonl')).toThrow(/step|header/);
    try {
      parseTrace('{"type":"header"}\n', 'x.jsonl');
    } catch (e) {
      expect((e as { where?: { pos: { line: number } } }).where?.pos.line).toBe(1);
    }
  });
});

describe('first divergence', () => {
  it('a patch that drops one instruction of tdxcall.S is found at exactly that step, with its source line', async () => {
    // The patch is made here from the cached tree: drop `xorl %r10d, %r10d` (the zeroing of R10 after the call).
    const file = 'arch/x86/virt/vmx/tdx/tdxcall.S';
    const before = fs.readFileSync(path.join(treePath('linux-6.12'), file), 'utf8');
    const after = before.replace(/\n\txorl %r10d, %r10d\n/, '\n');
    expect(after).not.toBe(before);
    const patch = path.join(tmp, 'drop-xorl-r10.patch');
    fs.writeFileSync(patch, createPatch(file, before, after).replace(/^Index: .*\n=+\n--- .*\n\+\+\+ .*\n/, `--- a/${file}\n+++ b/${file}\n`));
    const good = await trace('linux-6.12', '__seamcall_saved_ret', 'success');
    const bad = await trace(`linux-6.12+${patch}`, '__seamcall_saved_ret', 'success');
    const cmp = compareTraces(good, bad);
    const xorAt = good.steps.findIndex((s) => s.asm === 'xorl %r10d, %r10d');
    expect(xorAt).toBeGreaterThan(0);
    // Everything before it is identical; at it, the next instruction (xorl %r11d) stands where the xorl %r10d was.
    // The removed line's successor now sits on its line number: the statement text is what differs.
    expect(cmp.divergence).toMatchObject({ where: 'step', step: xorAt, field: 'stmt', expected: 'xorl %r10d,%r10d', actual: 'xorl %r11d,%r11d' });
    // The code after the removed instruction moved (a forward branch over it is shorter), before the behaviour changed.
    expect(cmp.layoutFrom!.step).toBeLessThan(xorAt);
    expect(cmp.sourceChanges.map((c) => c.path)).toEqual([file]);
    const report = renderDivergence(good, bad, cmp, { width: 200, color: false }).join('\n');
    expect(report).toContain(`first divergence at step ${xorAt}`);
    expect(report).toMatch(/at arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+: xorl %r11d,%r11d\n {4}in TDX_MODULE_CALL at arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+/);
    expect(report).toContain('tdxcall.S: 016a2a1ec1d6 →');
  });
});

describe('seamlab trace', () => {
  it('writes JSON Lines to a file and text to a terminal-less stdout when asked', () => {
    const out = path.join(tmp, 't.jsonl');
    const r = seamlab(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'vmfailinvalid', '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const t = parseTrace(fs.readFileSync(out, 'utf8'), out);
    // R0: VMfailInvalid → RAX = TDX_SEAMCALL_VMFAILINVALID (asm/tdx.h), and *out is still written.
    expect(t.summary.returnValue).toBe('0x8000ff00ffff0000');
    const text = seamlab(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'vmfailinvalid', '--format', 'text']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^\s*\d+ {2}__seamcall\+0x\w+ +66 0f 01 cf +seamcall +tdxcall\.S:\d+ ‹TDX_MODULE_CALL seamcall\.S:\d+›$/m);
    expect(text.stdout).toContain('VMfailInvalid (CF=1)');
    expect(text.stdout).not.toContain('\u001b[');
  });

  it('says which functions there are when --fn is missing', () => {
    const r = seamlab(['trace', 'linux-6.12']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/error: linux-6\.12 has 6 entry points; say which to trace \[TRACE_NO_FUNCTION\]\n {2}hint: add --fn NAME \(one of __tdcall, __tdcall_ret, __tdcall_saved_ret, __seamcall, __seamcall_ret, __seamcall_saved_ret\)/);
  });
});

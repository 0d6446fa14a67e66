/**
 * Golden traces: every fixture under fixtures/golden matches a fresh
 * recording (this is `seamlab golden check` in npm test), and — because a
 * golden is never the only evidence — every fixture's key facts are checked
 * against the hand-derived expectations of test/support/expected-runs.ts
 * (kernel source and tdx-facts.md): RAX after the call, the outputs stored
 * or not, the registers zeroed or not, the stack balanced, callee-saved
 * registers intact. Also: update refuses a source change, rewrites only what
 * changed, and the vitest matcher works as the README shows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPatch } from 'diff';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGoldens, GOLDEN_DIR, goldenCases, updateGoldens } from '../src/trace/golden.js';
import { parseTrace, serializeTrace } from '../src/trace/jsonl.js';
import type { Trace } from '../src/trace/format.js';
import { CALLEE_SAVED, C, EXPECTED, POISON } from './support/expected-runs.js';
import { treePath } from './support/kernel.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-golden-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hx = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** Registers after the run: the entry registers with every step's changes applied. */
function finalRegisters(t: Trace): Record<string, string> {
  const regs: Record<string, string> = { ...(t.header.entry.regs as Record<string, string>) };
  for (const s of t.steps) for (const [r, [, after]] of Object.entries(s.regs ?? {})) regs[r] = after;
  return regs;
}

describe('golden traces', () => {
  const { cases } = goldenCases();

  it('exist for every built-in revision × entry point × applicable scenario, and nothing else', () => {
    const onDisk: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else onDisk.push(path.relative(ROOT, p).split(path.sep).join('/'));
      }
    };
    walk(path.join(ROOT, GOLDEN_DIR));
    expect(onDisk.sort()).toEqual(cases.map((c) => c.file).sort());
    // Every profile of 6.12 __seamcall_saved_ret, the default profile elsewhere.
    expect(new Set(cases.filter((c) => c.function === '__seamcall_saved_ret').map((c) => c.profile))).toEqual(new Set(['default', 'noframe', 'sls', 'rethunk', 'ibt']));
  });

  it('all match a fresh recording (seamlab golden check)', async () => {
    const results = await checkGoldens();
    const bad = results.filter((r) => r.status !== 'ok').map((r) => `${r.case.file}: ${r.status}${r.comparison?.divergence ? ` ${JSON.stringify(r.comparison.divergence, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}` : ''}`);
    expect(bad).toEqual([]);
    expect(results).toHaveLength(cases.length);
  });

  describe('key facts of every golden, from the kernel source and tdx-facts.md', () => {
    for (const c of cases) {
      it(c.file, () => {
        const t = parseTrace(fs.readFileSync(path.join(ROOT, c.file), 'utf8'), c.file);
        const exp = EXPECTED[c.revision]!.table[c.function]![c.scenario]!;
        expect(exp, `an expectation for ${c.function} × ${c.scenario}`).toBeDefined();
        const seam = t.steps.filter((s) => s.seam);
        expect(seam).toHaveLength(1);
        const call = seam[0]!.seam!;
        if (exp.oops) {
          expect(t.summary.end).toMatchObject({ kind: 'oops', vectorName: exp.oops });
          expect(call.path).toBe('oops');
          return;
        }
        expect(t.summary.end.kind).toBe('returned');
        expect(t.summary.returnValue).toBe(hx(exp.ret!));
        expect(call.path).toBe(exp.fixup ? 'exception-table' : 'resumed');
        const regs = finalRegisters(t);
        // The stack is balanced (RSP = entry + 8 after `ret`) and the callee-saved registers are intact.
        expect(BigInt(regs.rsp!)).toBe(BigInt(t.header.entry.regs.rsp!) + 8n);
        for (const r of CALLEE_SAVED) expect(regs[r], r).toBe(hx(C(r)));
        for (const [r, v] of Object.entries(exp.regs ?? {})) expect(regs[r], r).toBe(hx(v));
        if (exp.written === undefined) {
          expect(t.summary.outputs).toEqual([]);
          return;
        }
        const out = t.summary.outputs[0]!;
        expect(Object.fromEntries(out.fields.filter((f) => f.written).map((f) => [f.name, f.value]))).toEqual(Object.fromEntries(Object.entries(exp.written).map(([k, v]) => [k, hx(v)])));
        if (out.param === 'out') for (const f of out.fields.filter((x) => !x.written)) expect(f.value, f.name).toBe(hx(POISON));
      });
    }
  });
});

describe('golden update', () => {
  const file = 'fixtures/golden/v3/__seamcall/default/vmfailinvalid.jsonl';

  function tempRootWith(files: Record<string, string>): string {
    const root = fs.mkdtempSync(path.join(tmp, 'root-'));
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    }
    return root;
  }

  it('reports the first divergence of a tampered golden and rewrites only that one', async () => {
    const good = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const t = parseTrace(good, file);
    const at = t.steps.findIndex((s) => s.seam);
    t.steps[at]!.seam!.outcome.note = 'tampered';
    const other = 'fixtures/golden/v3/__seamcall/default/success.jsonl';
    const root = tempRootWith({ [file]: serializeTrace(t), [other]: fs.readFileSync(path.join(ROOT, other), 'utf8') });
    const checked = await checkGoldens('v3/__seamcall/default/', root);
    const bad = checked.find((r) => r.case.file === file)!;
    expect(bad.status).toBe('diverged');
    expect(bad.comparison!.divergence).toMatchObject({ where: 'step', step: at, field: 'seam' });
    const otherMtime = fs.statSync(path.join(root, other)).mtimeMs;
    const updated = await updateGoldens('v3/__seamcall/default/', { root });
    expect(updated.filter((u) => u.action === 'written').map((u) => u.case.file).sort()).toEqual(
      // The tampered one, and those missing from the temporary root.
      checked.filter((r) => r.status !== 'ok').map((r) => r.case.file).sort(),
    );
    // The rewritten golden is the committed one again — but for the Debian upload it records, which is whatever setup fetched.
    const rewritten = parseTrace(fs.readFileSync(path.join(root, file), 'utf8'), file);
    const committed = parseTrace(good, file);
    expect({ ...rewritten, header: { ...rewritten.header, revision: { ...rewritten.header.revision, packageVersion: '' } } })
      .toEqual({ ...committed, header: { ...committed.header, revision: { ...committed.header.revision, packageVersion: '' } } });
    expect(fs.statSync(path.join(root, other)).mtimeMs).toBe(otherMtime);
  });

  it('refuses to rewrite a golden whose input files changed, unless the change is accepted', async () => {
    const t = parseTrace(fs.readFileSync(path.join(ROOT, file), 'utf8'), file);
    t.header.revision.inputs[0]!.blob = '0'.repeat(40);
    t.steps.pop();
    const root = tempRootWith({ [file]: serializeTrace(t) });
    const refused = await updateGoldens('v3/__seamcall/default/vmfailinvalid', { root });
    expect(refused).toMatchObject([{ action: 'refused', reason: expect.stringMatching(/^1 input file changed since it was recorded \(arch\//) }]);
    const accepted = await updateGoldens('v3/__seamcall/default/vmfailinvalid', { root, acceptSourceChange: true });
    expect(accepted).toMatchObject([{ action: 'written' }]);
  });

  it('a golden whose inputs differ but whose behaviour does not still checks clean', async () => {
    const t = parseTrace(fs.readFileSync(path.join(ROOT, file), 'utf8'), file);
    t.header.revision.inputs[0]!.blob = '0'.repeat(40);
    t.header.revision.packageVersion = '0.0.0-not-what-setup-fetched';
    const root = tempRootWith({ [file]: serializeTrace(t) });
    const [r] = await checkGoldens('v3/__seamcall/default/vmfailinvalid', root);
    expect(r).toMatchObject({ status: 'ok', sourceChanged: true });
  });
});

describe('the vitest matcher, as the README shows it', () => {
  it('passes for a patch that changes no behaviour, and fails with the first divergence for one that does', async () => {
    // The README's test, with the patch made here from the cached tree (a comment changed; then an instruction dropped).
    const { expect: vexpect, test: _test } = await import('vitest');
    const { BUILTIN_SCENARIOS, recordTrace, resolveRevision } = await import('seamlab');
    const { goldenTraceMatchers } = await import('seamlab/vitest');
    vexpect.extend(goldenTraceMatchers);
    const src = 'arch/x86/virt/vmx/tdx/tdxcall.S';
    const text = fs.readFileSync(path.join(treePath('linux-6.12'), src), 'utf8');
    const patchOf = (after: string, name: string) => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, createPatch(src, text, after).replace(/^Index: .*\n=+\n--- .*\n\+\+\+ .*\n/, `--- a/${src}\n+++ b/${src}\n`));
      return p;
    };
    const harmless = patchOf(text.replace('TDX_MODULE_CALL', 'TDX_MODULE_CALL '.trimEnd()).replace('/*', '/* (reviewed) '), 'comment.patch');
    const harmful = patchOf(text.replace(/\n\tmovq %r11, TDX_MODULE_r11\(%rsi\)\n/, '\n\tmovq %r11, TDX_MODULE_r10(%rsi)\n'), 'wrong-field.patch');
    const golden = path.join(ROOT, 'fixtures/golden/linux-6.12/__seamcall_ret/default/success.jsonl');
    const trace = async (patch: string) => recordTrace({
      revision: resolveRevision(`linux-6.12+${patch}`),
      fn: '__seamcall_ret',
      scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'success')!,
    });
    vexpect(await trace(harmless)).toMatchGoldenTrace(golden);
    const bad = await trace(harmful);
    let message = '';
    try {
      vexpect(bad).toMatchGoldenTrace(golden);
    } catch (e) {
      message = (e as Error).message;
    }
    // tdxcall.S stores R11 with `movq %r11, TDX_MODULE_r11(%rsi)`; asm-offsets makes that offset 40 (tdx-facts.md: struct tdx_module_args).
    expect(message).toMatch(/^the trace does not match .*success\.jsonl\n {2}first divergence at step \d+, field stmt:\n {4}expected: "movq %r11,40\(%rsi\)"\n {4}actual: {3}"movq %r11,32\(%rsi\)"/);
    expect(message).toMatch(/in TDX_MODULE_CALL at arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+/);
  });
});

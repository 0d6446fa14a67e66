/**
 * The data behind the HTML trace explorer (src/report/trace-explorer.ts):
 * the source rows and which row each step ran. Expectations come from the
 * kernel source (the cached trees' text, lines found by their content) and
 * from the trace's own `src` fields, which the recorder takes from the
 * image's source map — the explorer's rows come from the build listing, a
 * different path to the same statements.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../src/image/build.js';
import { resolveRevision } from '../src/intake/revision.js';
import { embeddedJson } from '../src/report/html/document.js';
import { renderTraceExplorer, traceExplorerModel } from '../src/report/trace-explorer.js';
import { BUILTIN_SCENARIOS } from '../src/seam/builtin-scenarios.js';
import { recordTrace } from '../src/trace/record.js';
import { treePath } from './support/kernel.js';

const scenario = (name: string) => BUILTIN_SCENARIOS.find((s) => s.name === name)!;

async function model(spec: string, fn: string, sc: string) {
  const revision = resolveRevision(spec);
  const trace = await recordTrace({ revision, fn, scenario: scenario(sc) });
  const entry = revision.functions.find((f) => f.name === fn)!;
  const ctx = { listing: buildImage(revision.files, entry.sourceFile, {}).listing, readFile: (p: string) => revision.files.readFile(p) };
  return { trace, ctx, data: traceExplorerModel(trace, ctx), revision };
}

describe('the trace explorer model', () => {
  it('v3 __seamcall: every step sits on the row of its own source line, and the lines count what ran from them', async () => {
    const { trace, data, revision } = await model('v3', '__seamcall', 'success');
    expect(data.files.map((f) => f.path)).toEqual(['arch/x86/virt/vmx/tdx/seamcall.S']);
    const text = revision.files.readFile('arch/x86/virt/vmx/tdx/seamcall.S')!.split('\n');
    // The file's lines, as written.
    expect(data.rows.filter((r) => r.depth === 0).map((r) => r.text)).toEqual(text.slice(0, text.at(-1) === '' ? -1 : undefined));
    trace.steps.forEach((s, i) => {
      expect(data.stepRow[i], `step ${i}`).toBeGreaterThanOrEqual(0);
      expect(data.rows[data.stepRow[i]!]!.pos).toBe(s.src);
      const line = data.rows[data.stepLine[i]!]!;
      expect(line.depth).toBe(0);
      // The line of seamcall.S: the outermost macro's invocation, else the statement's own line.
      expect(`${'arch/x86/virt/vmx/tdx/seamcall.S'}:${line.line}`).toBe(s.macros?.length ? s.macros.at(-1)!.replace(/^.* at /, '') : s.src);
    });
    expect(data.rows.filter((r) => r.depth === 0).reduce((n, r) => n + r.hits, 0)).toBe(trace.steps.length);
    // TDX_MODULE_CALL's expansion sits under its invocation, with the body lines of tdxcall.S (6.1 tree) as written.
    const tdxcall = fs.readFileSync(path.join(treePath('linux-6.1'), 'arch/x86/virt/vmx/tdx/tdxcall.S'), 'utf8').split('\n');
    const inv = data.rows.findIndex((r) => r.depth === 0 && /^\s*TDX_MODULE_CALL\b/.test(r.text));
    expect(data.rows[inv]!.expands).toBe(true);
    const body = data.rows.filter((r) => r.parent === inv);
    expect(body.length).toBeGreaterThan(10);
    for (const r of body) {
      expect(r.pos).toMatch(/^arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+$/);
      expect(r.text).toBe(tdxcall[r.line - 1]!.trim());
    }
    // The VMfailInvalid move did not run in the success case; it is there, with a count of 0, and its statement as cpp left it.
    const vmfail = body.find((r) => r.text.includes('TDX_SEAMCALL_VMFAILINVALID'))!;
    expect(vmfail).toMatchObject({ code: true, hits: 0 });
    expect(vmfail.stmt).toMatch(/^mov \$\(/);
    // seamcall is the cpp macro tdxcall.S defines as .byte 0x66,0x0f,0x01,0xcf (tdx-facts §1.1).
    expect(body.find((r) => r.text === 'seamcall')).toMatchObject({ stmt: '.byte 0x66,0x0f,0x01,0xcf', hits: 1 });
  });

  it('6.12 __seamcall_ret: FRAME_BEGIN/FRAME_END inside TDX_MODULE_CALL fold under their own invocation rows', async () => {
    const { trace, data } = await model('linux-6.12', '__seamcall_ret', 'success');
    const nested = data.rows.filter((r) => r.kind === 'invocation');
    expect(nested.map((r) => r.text.split(/\s/)[0])).toEqual(expect.arrayContaining(['FRAME_BEGIN', 'FRAME_END']));
    for (const r of nested) {
      expect(r.depth).toBe(1);
      const children = data.rows.filter((c) => data.rows[c.parent] === r);
      expect(children.length).toBeGreaterThan(0);
      for (const c of children) expect(c.depth).toBe(2);
    }
    trace.steps.forEach((s, i) => expect(data.rows[data.stepRow[i]!]!.pos).toBe(s.src));
  });

  it('renders the same bytes twice, and embeds JSON that cannot close its script element', async () => {
    const { trace, ctx } = await model('v3', '__seamcall', 'success');
    expect(renderTraceExplorer(trace, ctx)).toBe(renderTraceExplorer(trace, ctx));
    expect(embeddedJson({ s: '</script><!-- \u2028' })).toBe('{"s":"\\u003c/script>\\u003c!-- \\u2028"}');
    expect(JSON.parse(embeddedJson({ s: '</script>' }))).toEqual({ s: '</script>' });
  });
});

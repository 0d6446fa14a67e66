/**
 * Every command's --json output, from the bundled CLI, parsed with the
 * exported zod schemas (src/report/json-schema.ts): one envelope per
 * document; run's document carries the revision's provenance and the struct
 * layouts once. Trees are identified by tdxcall.S blob ids (tdx-facts.md §0).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildDocumentSchema, cppDocumentSchema, doctorDocumentSchema, JSON_DOCUMENT_SCHEMAS, profilesDocumentSchema,
  revisionsDocumentSchema, runDocumentSchema, scenariosDocumentSchema,
} from '../src/index.js';
import { seamlab } from './support/cli.js';

const ROOT = resolve(import.meta.dirname, '..');
const R0_BLOB = /^49a54356ae99[0-9a-f]{28}$/;

function json(args: string[]): unknown {
  const r = seamlab(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('--json documents', () => {
  it('every document schema is exported by command name', () => {
    expect(Object.keys(JSON_DOCUMENT_SCHEMAS).sort()).toEqual(['build', 'cpp', 'doctor', 'profiles', 'revisions', 'run', 'scenarios']);
  });

  it('doctor', () => {
    const d = doctorDocumentSchema.parse(json(['doctor', '--json']));
    expect(d.format).toBe('seamlab-doctor');
    expect(d.ok).toBe(true);
  });

  it('revisions, listing and resolving', () => {
    const list = revisionsDocumentSchema.parse(json(['revisions', '--json']));
    expect(list.revisions.map((r) => r.name)).toEqual(['linux-6.1', 'linux-6.12', 'v3']);
    const v3 = revisionsDocumentSchema.parse(json(['revisions', '--json', 'v3'])).revisions[0]!;
    expect(v3.provenance!.base).toMatchObject({ kind: 'builtin', name: 'linux-6.1', package: 'linux-source-6.1' });
    // No host path of the cache in the document.
    expect(JSON.stringify(v3.provenance)).not.toContain('.cache');
  });

  it('profiles, with and without a revision', () => {
    const p = profilesDocumentSchema.parse(json(['profiles', '--json']));
    expect(p.profiles.map((x) => x.name)).toEqual(['default', 'noframe', 'sls', 'rethunk', 'ibt']);
    expect(p.featureOptions.sls).toEqual(['MITIGATION_SLS', 'SLS']);
    const t = profilesDocumentSchema.parse(json(['profiles', 'linux-6.12', '--json']));
    const rethunk = t.revision!.profiles.find((x) => x.name === 'rethunk')!;
    expect(rethunk.options.rethunk).toEqual({ option: 'MITIGATION_RETHUNK', value: 'y' });
  });

  it('cpp', () => {
    const c = cppDocumentSchema.parse(json(['cpp', 'linux-6.12', 'arch/x86/virt/vmx/tdx/seamcall.S', '--json']));
    expect(c.file).toBe('arch/x86/virt/vmx/tdx/seamcall.S');
    expect(c.lines.length).toBe(c.origins.length);
  });

  it('build', () => {
    const b = buildDocumentSchema.parse(json(['build', 'linux-6.12', '--json']));
    expect(b.files.map((f) => f.file)).toEqual(['arch/x86/coco/tdx/tdcall.S', 'arch/x86/virt/vmx/tdx/seamcall.S']);
    expect(b.failed).toEqual([]);
  });

  it('scenarios', () => {
    const s = scenariosDocumentSchema.parse(json(['scenarios', '--json']));
    expect(s.scenarios.find((x) => x.name === 'vmcall')!.sides).toEqual(['tdcall']);
  });

  it('run: provenance and struct layouts once, ok* runs flagged', () => {
    const d = runDocumentSchema.parse(json(['run', '--json']));
    expect(d.revision.name).toBe('v3');
    const base = d.revision.provenance.base;
    expect(base.kind === 'builtin' && base.tdxcallBlob).toMatch(R0_BLOB);
    expect(base).toMatchObject({ package: 'linux-source-6.1' });
    expect(d.revision.provenance.patches.map((p) => p.source)).toEqual(['fixtures/000_aa2199c2670e7995.txt']);
    // v3's functions take struct tdx_module_output *out (6.1 tdx.h): its layout is listed once, runs name it.
    expect(Object.keys(d.structs)).toEqual(['tdx_module_output']);
    expect(d.structs.tdx_module_output!.fields.map((f) => `${f.name}@${f.offset}`)).toEqual(['rcx@0', 'rdx@8', 'r8@16', 'r9@24', 'r10@32', 'r11@40']);
    // Layouts (with their definedAt) are not in the run records; runs keep only their field values.
    expect(JSON.stringify(d.runs).includes('"definedAt"')).toBe(false);
    expect(d.runs.filter((r) => r.call.params.some((p) => p.struct)).every((r) => r.call.params.find((p) => p.struct)!.struct!.name === 'tdx_module_output')).toBe(true);
    // __tdx_module_call(fn, rcx, rdx, r8, r9, out) has no way to pass the vmcall scenario's R10–R13.
    const vmcall = d.runs.find((r) => r.function === '__tdx_module_call' && r.scenario.name === 'vmcall')!;
    expect(vmcall).toMatchObject({ abi: 'ok*', inputsNotCarried: ['r10', 'r11', 'r12', 'r13'], ok: true });
    expect(d.runs.filter((r) => r.abi === 'ok*')).toHaveLength(1);
    expect(d.skipped).toContainEqual({ function: '__seamcall', scenario: 'vmcall', reason: 'no host (seamcall) case' });
    expect(d.summary).toMatchObject({ runs: 18, sequences: 2, failed: false });
    // The built-in sequences against v3's host entry point, each call a run record.
    expect(d.sequences.map((s) => [s.function, s.scenario.name, s.calls, s.ok])).toEqual([['__seamcall', 'bringup-6.12', 269, true], ['__seamcall', 'sys-init-retry', 4, true]]);
    expect(d.runs.every((r) => !('revision' in r))).toBe(true);
  });

  it('is byte-identical from one run to the next (no timestamps, no host paths)', () => {
    const a = seamlab(['run', 'linux-6.12', '--fn', '__seamcall', '--json']).stdout;
    const b = seamlab(['run', 'linux-6.12', '--fn', '__seamcall', '--json']).stdout;
    expect(a).toBe(b);
    expect(a).not.toContain(ROOT);
  });
});

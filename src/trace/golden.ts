/**
 * Golden traces: `fixtures/golden/<revision>/<function>/<profile>/<scenario>.jsonl`
 * for every built-in revision × entry point × applicable built-in scenario
 * (default profile; every profile for 6.12 `__seamcall_saved_ret`), checked
 * by re-recording and comparing (`seamlab golden check`) and rewritten only
 * where something changed (`seamlab golden update`).
 *
 * A golden is keyed on what it ran, not on the Debian upload it came from:
 * a new upload whose files seamlab reads have the same blob ids checks
 * clean; one whose inputs differ but whose behaviour does not is reported
 * and still passes; `update` refuses to rewrite a golden whose inputs
 * changed unless told the change is accepted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { resolveRevision } from '../intake/revision.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import { notApplicable } from '../run/run.js';
import { BUILTIN_SCENARIOS } from '../seam/builtin-scenarios.js';
import { PROFILES } from '../kbuild/kconfig/profiles.js';
import { packageRoot } from '../support/package-root.js';
import { compareTraces, type TraceComparison } from './compare.js';
import type { Trace } from './format.js';
import { parseTrace, serializeTrace } from './jsonl.js';
import { recordTrace } from './record.js';
import type { Image } from '../image/types.js';
import type { Machine } from '../machine/machine.js';

export const GOLDEN_DIR = 'fixtures/golden';
export const GOLDEN_REVISIONS = ['v3', 'linux-6.1', 'linux-6.12'] as const;
/** The function whose goldens cover every profile (its expansion is the largest: saved=1 ret=1). */
export const ALL_PROFILES_OF = { revision: 'linux-6.12', function: '__seamcall_saved_ret' } as const;

export interface GoldenCase {
  revision: string;
  function: string;
  profile: string;
  scenario: string;
  /** Repository-relative: fixtures/golden/v3/__seamcall/default/success.jsonl */
  file: string;
}

export function goldenFile(c: Omit<GoldenCase, 'file'>): string {
  return `${GOLDEN_DIR}/${c.revision}/${c.function}/${c.profile}/${c.scenario}.jsonl`;
}

/** Every golden there should be, in a fixed order; `filter` keeps those whose file path contains it. */
export function goldenCases(filter?: string, resolve: (spec: string) => Revision = resolveRevision): { cases: GoldenCase[]; revisions: Map<string, Revision> } {
  const cases: GoldenCase[] = [];
  const revisions = new Map<string, Revision>();
  for (const spec of GOLDEN_REVISIONS) {
    const rev = resolve(spec);
    revisions.set(spec, rev);
    for (const fn of [...rev.functions].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const profiles = spec === ALL_PROFILES_OF.revision && fn.name === ALL_PROFILES_OF.function ? PROFILES.map((p) => p.name) : ['default'];
      for (const profile of profiles) {
        for (const sc of BUILTIN_SCENARIOS) {
          if (notApplicable(sc, fn)) continue;
          const c = { revision: spec, function: fn.name, profile, scenario: sc.name };
          cases.push({ ...c, file: goldenFile(c) });
        }
      }
    }
  }
  return { cases: filter ? cases.filter((c) => c.file.includes(filter)) : cases, revisions };
}

export type GoldenStatus =
  | { status: 'ok'; sourceChanged: boolean }
  | { status: 'missing' }
  | { status: 'diverged' }
  | { status: 'unreadable'; error: SeamlabError };

export type GoldenResult = GoldenStatus & { case: GoldenCase; expected?: Trace; actual: Trace; comparison?: TraceComparison };

async function recordCase(c: GoldenCase, revisions: Map<string, Revision>, machines: Map<Image, Machine>): Promise<Trace> {
  const rev = revisions.get(c.revision)!;
  const fn = rev.functions.find((f: EntryFunction) => f.name === c.function)!;
  const scenario = BUILTIN_SCENARIOS.find((s) => s.name === c.scenario)!;
  return recordTrace({ revision: rev, fn, scenario, profile: c.profile, machines });
}

function readGolden(root: string, c: GoldenCase): Trace | undefined | SeamlabError {
  const abs = path.join(root, c.file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseTrace(text, c.file);
  } catch (e) {
    if (e instanceof SeamlabError) return e;
    throw e;
  }
}

/** Re-records every selected case and compares it with its golden. */
export async function checkGoldens(filter?: string, root = packageRoot()): Promise<GoldenResult[]> {
  const { cases, revisions } = goldenCases(filter);
  const out: GoldenResult[] = [];
  // One machine per image for all its goldens (planning resets its memory before every run).
  const machines = new Map<Image, Machine>();
  try {
    for (const c of cases) out.push(checkCase(root, c, await recordCase(c, revisions, machines)));
  } finally {
    for (const m of machines.values()) m.close();
  }
  return out;
}

function checkCase(root: string, c: GoldenCase, actual: Trace): GoldenResult {
  const expected = readGolden(root, c);
  if (expected === undefined) return { status: 'missing', case: c, actual };
  if (expected instanceof SeamlabError) return { status: 'unreadable', error: expected, case: c, actual };
  const comparison = compareTraces(expected, actual);
  const same = comparison.divergence === undefined && comparison.headerChanges.length === 0;
  return same
    ? { status: 'ok', sourceChanged: comparison.sourceChanges.length > 0, case: c, expected, actual, comparison }
    : { status: 'diverged', case: c, expected, actual, comparison };
}

export interface UpdateResult {
  case: GoldenCase;
  action: 'unchanged' | 'written' | 'refused';
  /** Why a rewrite was refused (inputs changed without --accept-source-change). */
  reason?: string;
}

/** Rewrites the goldens whose recording differs (temp file + rename); leaves the rest untouched. */
export async function updateGoldens(filter: string | undefined, opts: { acceptSourceChange?: boolean; root?: string } = {}): Promise<UpdateResult[]> {
  const root = opts.root ?? packageRoot();
  const results = await checkGoldens(filter, root);
  const out: UpdateResult[] = [];
  for (const r of results) {
    const sourceChanged = (r.comparison?.sourceChanges.length ?? 0) > 0;
    if (r.status === 'ok' && !sourceChanged) {
      out.push({ case: r.case, action: 'unchanged' });
      continue;
    }
    if (sourceChanged && !opts.acceptSourceChange) {
      const n = r.comparison!.sourceChanges.length;
      out.push({ case: r.case, action: 'refused', reason: `${n} input file${n === 1 ? '' : 's'} changed since it was recorded (${r.comparison!.sourceChanges.slice(0, 3).map((s) => s.path).join(', ')}${n > 3 ? ', …' : ''})` });
      continue;
    }
    writeAtomically(path.join(root, r.case.file), serializeTrace(r.actual));
    out.push({ case: r.case, action: 'written' });
  }
  return out;
}

function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new SeamlabError('GOLDEN_WRITE_FAILED', `cannot write ${file}: ${(e as Error).message}`, 'check that the fixtures directory is writable');
  }
}

/**
 * Running a selection of entry points × scenarios of one revision — with no
 * selection, every entry point over every built-in scenario that applies
 * (the main job). Images are built once per source file; one machine per
 * image serves all its runs.
 */
import { SeamlabError } from '../errors.js';
import { buildImage } from '../image/build.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import { Machine } from '../machine/machine.js';
import { BUILTIN_SCENARIOS } from '../seam/builtin-scenarios.js';
import type { Scenario } from '../seam/scenario.js';
import { notApplicable, runScenario, type RunResult } from './run.js';

/** Builds the image of one source file of a revision (default: seamlab's own pipeline, cached per process). */
export type ImageBuilder = (revision: Revision, file: string, profile: string) => Image;

export interface JobOptions {
  functions?: string[];
  scenarios?: Scenario[];
  profile?: string;
  budget?: number;
  timeLimitMs?: number;
  buildImage?: ImageBuilder;
}

export interface JobResult {
  results: RunResult[];
  /** Function × scenario pairs skipped because the scenario does not apply. */
  skipped: { function: string; scenario: string; reason: string }[];
}

export function selectFunctions(rev: Revision, names: string[] | undefined): EntryFunction[] {
  if (!names || names.length === 0) return rev.functions;
  return names.map((n) => {
    const f = rev.functions.find((x) => x.name === n);
    if (!f) {
      throw new SeamlabError('RUN_UNKNOWN_FUNCTION', `${rev.name} has no TDX entry point named ${n}`, 'pick one of the functions `seamlab revisions` lists',
        { notes: [`entry points of ${rev.name}: ${rev.functions.map((x) => x.name).join(', ')}`] });
    }
    return f;
  });
}

export function runJob(rev: Revision, opts: JobOptions): JobResult {
  const profile = opts.profile ?? 'default';
  const fns = selectFunctions(rev, opts.functions);
  const scenarios = opts.scenarios && opts.scenarios.length ? opts.scenarios : BUILTIN_SCENARIOS;
  const images = new Map<string, Image>();
  const machines = new Map<Image, Machine>();
  const results: RunResult[] = [];
  const skipped: JobResult['skipped'] = [];
  try {
    for (const fn of fns) {
      for (const sc of scenarios) {
        const why = notApplicable(sc, fn);
        if (why) {
          skipped.push({ function: fn.name, scenario: sc.name, reason: why });
          continue;
        }
        let image = images.get(fn.sourceFile);
        if (!image) {
          image = opts.buildImage ? opts.buildImage(rev, fn.sourceFile, profile) : buildImage(rev.files, fn.sourceFile, { profile }).image;
          images.set(fn.sourceFile, image);
        }
        let machine = machines.get(image);
        if (!machine) {
          // Loads observed: the leak check's register origins follow values through the stack.
          machine = new Machine(image, { observeReads: true });
          machines.set(image, machine);
        }
        results.push(runScenario(image, { ...fn }, sc, {
          revision: rev.name, profile, machine,
          ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
          ...(opts.timeLimitMs !== undefined ? { timeLimitMs: opts.timeLimitMs } : {}),
        }));
      }
    }
  } finally {
    for (const m of machines.values()) m.close();
  }
  if (results.length === 0) {
    throw new SeamlabError('RUN_NOTHING', `none of the selected scenarios applies to the selected functions of ${rev.name}`, 'choose host scenarios for SEAMCALL entry points and guest ones for TDCALL entry points (`seamlab scenarios`)',
      { notes: skipped.slice(0, 8).map((s) => `${s.function} × ${s.scenario}: ${s.reason}`) });
  }
  return { results, skipped };
}

/** The exit status rule: an ABI failure or a bad end fails; an oops from the scenario's own injected fault fails only when strict. */
export function jobFailed(results: RunResult[], strict = false): boolean {
  return results.some((r) => !r.ok || (strict && r.end.kind !== 'returned'));
}

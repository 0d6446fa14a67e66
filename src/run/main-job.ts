/**
 * Running a selection of entry points × scenarios of one revision — with no
 * selection, every entry point over every built-in scenario that applies
 * (the main job). Images are built once per source file; one machine per
 * image serves all its runs. A file that does not build is reported in
 * `failed` and the entry points of the other files still run.
 *
 * The built-in sequences are part of the main job, run against every entry
 * point of their side, as single-call scenarios are: a sequence is the
 * kernel's own use of the call (the 6.12 bring-up, sc_retry's loop), and
 * whether an entry point can carry it — inputs, the outputs a step checks or
 * loops on — is what the job shows (`n/a*` for what the entry point cannot
 * return, e.g. 6.12 `__seamcall`), rather than a choice made here.
 */
import { SeamlabError } from '../errors.js';
import { buildImage } from '../image/build.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import { Machine } from '../machine/machine.js';
import { BUILTIN_SCENARIOS, BUILTIN_SEQUENCES } from '../seam/builtin-scenarios.js';
import type { Scenario } from '../seam/scenario.js';
import { notApplicable, runScenario, type RunResult } from './run.js';
import type { SequenceResult } from './sequence.js';
import { runSequence } from './session.js';

/** Builds the image of one source file of a revision (default: seamlab's own pipeline, cached per process). */
export type ImageBuilder = (revision: Revision, file: string, profile: string) => Image;

export interface JobOptions {
  functions?: string[];
  scenarios?: Scenario[];
  profile?: string;
  /** A kernel .config (path or text) used instead of the profile. */
  config?: string;
  budget?: number;
  timeLimitMs?: number;
  buildImage?: ImageBuilder;
}

export interface JobResult {
  results: RunResult[];
  /** Sequence scenarios run against entry points (one per sequence × entry point). */
  sequences: SequenceResult[];
  /** Function × scenario pairs skipped because the scenario does not apply. */
  skipped: { function: string; scenario: string; reason: string }[];
  /** Source files that did not build: their entry points were not run (the other files' were). */
  failed: { file: string; functions: string[]; error: SeamlabError }[];
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
  const scenarios = opts.scenarios && opts.scenarios.length ? opts.scenarios : [...BUILTIN_SCENARIOS, ...BUILTIN_SEQUENCES];
  const images = new Map<string, Image>();
  const machines = new Map<Image, Machine>();
  const results: RunResult[] = [];
  const sequences: SequenceResult[] = [];
  const skipped: JobResult['skipped'] = [];
  const failed = new Map<string, JobResult['failed'][number]>();
  // What RunResults call the configuration.
  const label = opts.config === undefined ? profile : `.config ${opts.config.includes('\n') ? '(text)' : opts.config}`;
  try {
    for (const fn of fns) {
      for (const sc of scenarios) {
        const why = notApplicable(sc, fn);
        if (why) {
          skipped.push({ function: fn.name, scenario: sc.name, reason: why });
          continue;
        }
        const broken = failed.get(fn.sourceFile);
        if (broken) {
          if (!broken.functions.includes(fn.name)) broken.functions.push(fn.name);
          continue;
        }
        let image = images.get(fn.sourceFile);
        if (!image) {
          // A file that does not build is reported as such; the other files' entry points still run.
          try {
            image = opts.buildImage ? opts.buildImage(rev, fn.sourceFile, profile) : buildImage(rev.files, fn.sourceFile, { profile, ...(opts.config !== undefined ? { config: opts.config } : {}) }).image;
          } catch (e) {
            if (!(e instanceof SeamlabError)) throw e;
            failed.set(fn.sourceFile, { file: fn.sourceFile, functions: [fn.name], error: e });
            continue;
          }
          images.set(fn.sourceFile, image);
        }
        let machine = machines.get(image);
        if (!machine) {
          // Loads observed: the leak check's register origins follow values through the stack.
          machine = new Machine(image, { observeReads: true });
          machines.set(image, machine);
        }
        const runOpts = {
          revision: rev.name, profile: label, machine,
          ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
          ...(opts.timeLimitMs !== undefined ? { timeLimitMs: opts.timeLimitMs } : {}),
        };
        if (sc.sequence) sequences.push(runSequence(image, { ...fn }, sc, runOpts));
        else results.push(runScenario(image, { ...fn }, sc, runOpts));
      }
    }
  } finally {
    for (const m of machines.values()) m.close();
  }
  if (results.length === 0 && sequences.length === 0 && failed.size === 0) {
    throw new SeamlabError('RUN_NOTHING', `none of the selected scenarios applies to the selected functions of ${rev.name}`, 'choose host scenarios for SEAMCALL entry points and guest ones for TDCALL entry points (`seamlab scenarios`)',
      { notes: skipped.slice(0, 8).map((s) => `${s.function} × ${s.scenario}: ${s.reason}`) });
  }
  return { results, sequences, skipped, failed: [...failed.values()] };
}

/**
 * The exit status rule: an ABI failure or a bad end fails, and so does a
 * sequence step whose expectation failed; an oops from the scenario's own
 * injected fault fails only when strict.
 */
export function jobFailed(results: RunResult[], strict = false, sequences: readonly SequenceResult[] = []): boolean {
  const bad = (r: RunResult) => !r.ok || (strict && r.end.kind !== 'returned');
  return results.some(bad) || sequences.some((s) => !s.ok || s.steps.some((st) => st.calls.some(bad)));
}

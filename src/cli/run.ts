/**
 * `seamlab run [REV] [--fn NAME]… [--scenario NAME|FILE]… [--profile P] [--json]`
 * and `seamlab scenarios`. With no arguments, `run` is the main job: every
 * entry point of v3 over the built-in scenarios, as a table.
 */
import { Command, Option } from 'commander';
import { SeamlabError } from '../errors.js';
import { resolveRevision } from '../intake/revision.js';
import { jobFailed, runJob, type ImageBuilder } from '../run/main-job.js';
import { formatDetails, formatTable, toJson } from '../report/run-report.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../run/run.js';
import { BUILTIN_SCENARIOS } from '../seam/builtin-scenarios.js';
import { resolveScenario } from '../seam/scenario-file.js';
import { loadDisassembler } from '../encode/capstone.js';

export const MAIN_JOB_REVISION = 'v3';

export interface RunCliDeps {
  buildImage?: ImageBuilder;
  print?: (line: string) => void;
}

interface RunOpts {
  fn?: string[];
  scenario?: string[];
  profile: string;
  json?: boolean;
  details?: boolean;
  strict?: boolean;
  budget: string;
  timeLimit: string;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SeamlabError('CLI_BAD_NUMBER', `${what} must be a positive integer, not ${v}`, `e.g. ${what} 1000000`);
  return n;
}

export function registerRun(program: Command, deps: RunCliDeps = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  program
    .command('run')
    .description('run TDX entry points on Unicorn with SEAMCALL/TDCALL served by a handler, and check the System V ABI (no arguments: every v3 entry point over the built-in scenarios)')
    .argument('[revision]', 'built-in name, tree path, or BASE+PATCH…', MAIN_JOB_REVISION)
    .option('--fn <name...>', 'only these entry points (repeatable)')
    .option('--scenario <name|file...>', 'built-in scenario name or a .yaml/.json/.ts scenario file (repeatable)')
    .option('--profile <name>', 'kconfig profile', 'default')
    .option('--json', 'print the RunResults as JSON')
    .option('--details', 'print every run in detail, not only as a table row')
    .option('--strict', 'also fail when a run oopses on the fault its own scenario injected')
    .addOption(new Option('--budget <n>', 'instruction budget per run').default(String(DEFAULT_BUDGET)))
    .addOption(new Option('--time-limit <ms>', 'wall-clock limit per run').default(String(DEFAULT_TIME_LIMIT_MS)))
    .action(async (revision: string, opts: RunOpts) => {
      const budget = positiveInt(opts.budget, '--budget');
      const timeLimitMs = positiveInt(opts.timeLimit, '--time-limit');
      const rev = resolveRevision(revision);
      // The leak check follows register origins with Capstone's regs-access.
      await loadDisassembler();
      const scenarios = [];
      for (const s of opts.scenario ?? []) scenarios.push(await resolveScenario(s));
      const job = runJob(rev, {
        ...(opts.fn ? { functions: opts.fn } : {}), scenarios, profile: opts.profile, budget, timeLimitMs,
        ...(deps.buildImage ? { buildImage: deps.buildImage } : {}),
      });
      if (opts.json) {
        print(toJson(job.results));
      } else if (opts.details || job.results.length === 1) {
        print(job.results.map(formatDetails).join('\n\n'));
      } else {
        print(formatTable(job.results));
      }
      if (jobFailed(job.results, opts.strict)) process.exitCode = 1;
    });
}

export function registerScenarios(program: Command, deps: { print?: (line: string) => void } = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  program
    .command('scenarios')
    .description('list the built-in scenarios (user scenarios: see src/seam/SCENARIOS.md)')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        print(toJson(BUILTIN_SCENARIOS.map((s) => ({ name: s.name, summary: s.summary, sides: Object.keys(s.cases), requiresOutputPointer: !!s.requiresOutputPointer }))));
        return;
      }
      const w = Math.max(...BUILTIN_SCENARIOS.map((s) => s.name.length));
      for (const s of BUILTIN_SCENARIOS) {
        const sides = [s.cases.seamcall ? 'host' : '', s.cases.tdcall ? 'guest' : ''].filter(Boolean).join('+');
        print(`${s.name.padEnd(w)}  ${sides.padEnd(10)}  ${s.summary}`);
      }
    });
}

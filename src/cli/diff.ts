/**
 * `seamlab diff REV_A REV_B [--pair A:fnA=B:fnB]… [--scenario NAME|FILE]…
 *  [--fuzz N --seed S [--jobs N] [--shard i/n]] [--expect FILE] [--align SCENARIO] [--json] [-o FILE] [--html FILE]`
 * and `seamlab diff-merge FILE… [--html FILE]`.
 *
 * Exit status: 0 no unexpected difference, 1 unexpected differences, 2 the
 * comparison could not be made (a usage error: bad option, revision, pair,
 * scenario or expected-differences file) — usable in CI.
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { formatError, isSeamlabError, SeamlabError } from '../errors.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import { allowCodeOption, scenarioLoadOptionsOf } from './scenario-options.js';
import type { DiffReport } from '../diff/report.js';

interface DiffOpts {
  pair?: string[];
  scenario?: string[];
  allowCode?: boolean;
  fuzz?: string;
  fuzzOnly?: boolean;
  seed: string;
  jobs?: string;
  shard?: string;
  expect?: string;
  align?: string;
  json?: boolean;
  output?: string;
  html?: string;
  profile: string;
  budget: string;
  timeLimit: string;
}

function count(v: string, what: string, min = 1): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new SeamlabError('CLI_BAD_NUMBER', `${what} must be an integer of at least ${min}, not ${v}`, `e.g. ${what} 1000`);
  return n;
}

function shardOf(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || index < 1 || total < 1 || index > total) throw new SeamlabError('DIFF_BAD_SHARD', `--shard ${v} is not i/n with 1 ≤ i ≤ n`, 'e.g. --shard 2/4 (the second of four parts)');
  return { index, count: total };
}

/** A progress bar on a terminal; nothing when stderr is not a TTY or CI is set. */
async function progressBar(): Promise<{ update: (done: number, total: number) => void; stop: () => void }> {
  if (!process.stderr.isTTY || process.env.CI) return { update: () => {}, stop: () => {} };
  const { SingleBar } = await import('cli-progress');
  let bar: InstanceType<typeof SingleBar> | undefined;
  return {
    update: (done, total) => {
      if (!bar) {
        bar = new SingleBar({ stream: process.stderr, format: 'fuzz [{bar}] {percentage}% | {value}/{total} cases | {eta_formatted} left', hideCursor: true, clearOnComplete: true });
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

async function emit(report: DiffReport, opts: { json?: boolean; output?: string; html?: string }, print: (s: string) => void): Promise<void> {
  const [{ toJson }, { diffText }] = await Promise.all([import('../report/run-report.js'), import('../report/diff-text.js')]);
  const json = toJson(report);
  if (opts.output) writeFileSync(opts.output, json + '\n');
  if (opts.html) writeFileSync(opts.html, (await import('../report/diff-html.js')).renderDiffHtml(report));
  print(opts.json ? json : diffText(report));
  process.exitCode = report.exitStatus;
}

/** Runs an action; a user error (SeamlabError) prints and exits 2: the comparison could not be made. */
async function usage(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (!isSeamlabError(e)) throw e;
    console.error(formatError(e));
    process.exitCode = 2;
  }
}

export function registerDiff(program: Command, deps: { print?: (s: string) => void } = {}): void {
  const print = deps.print ?? ((s: string) => console.log(s));
  program
    .command('diff')
    .description('compare the behaviour of two revisions (or two entry points with different ABIs) over the scenarios and a differential fuzz campaign; exit 0 no unexpected difference, 1 unexpected differences, 2 usage error')
    .argument('<revA>', 'built-in name, tree path, or BASE+PATCH…')
    .argument('<revB>', 'built-in name, tree path, or BASE+PATCH…')
    .option('--pair <A:fnA=B:fnB...>', 'compare these entry points (repeatable; default: same names in both)')
    .option('--scenario <name|file...>', 'scenarios of the matrix (default: every built-in that applies)')
    .addOption(allowCodeOption())
    .option('--fuzz <n>', 'also run N generated cases, each under every outcome class, in batch mode')
    .option('--fuzz-only', 'skip the scenario matrix (only the fuzz campaign)')
    .option('--seed <s>', 'fuzz seed (the campaign is reproducible from it)', '1')
    .option('--jobs <n>', 'fuzz worker threads (default: the number of cores)')
    .option('--shard <i/n>', 'run only part i of n of the fuzz cases (merge the --json reports with `seamlab diff-merge`)')
    .option('--expect <file>', 'expected differences (YAML/JSON): muted, reported apart')
    .option('--align <scenario>', 'also print both traces of this scenario aligned by source construct')
    .option('--json', 'print the report as JSON (format seamlab-diff, version 1)')
    .option('-o, --output <file>', 'also write the JSON report to FILE')
    .option('--html <file>', 'also write the report as one self-contained HTML page (with the success scenario\'s traces aligned, unless --align names another)')
    .option('--profile <name>', 'kconfig profile', 'default')
    .addOption(new Option('--budget <n>', 'instruction budget per single run').default(String(DEFAULT_BUDGET)))
    .addOption(new Option('--time-limit <ms>', 'wall-clock limit per single run').default(String(DEFAULT_TIME_LIMIT_MS)))
    .action((revA: string, revB: string, opts: DiffOpts) => usage(async () => {
      const [{ parsePairOption }, { resolveScenario }, { loadExpectations }, { runDiff }] = await Promise.all([
        import('../diff/pairing.js'), import('../seam/scenario-file.js'), import('../diff/expect.js'), import('../diff/run-diff.js'),
      ]);
      const pairs = (opts.pair ?? []).map(parsePairOption);
      if (opts.fuzzOnly && (!opts.fuzz || opts.scenario)) throw new SeamlabError('DIFF_FUZZ_ONLY', '--fuzz-only needs --fuzz N and no --scenario', 'drop --fuzz-only, or give --fuzz N without --scenario');
      const scenarios = opts.fuzzOnly ? [] : opts.scenario ? await Promise.all(opts.scenario.map((s) => resolveScenario(s, scenarioLoadOptionsOf(opts)))) : undefined;
      const expect = opts.expect ? loadExpectations(opts.expect) : undefined;
      // The HTML page shows aligned traces: those of the success scenario when --align names none.
      const align = opts.align || opts.html ? await resolveScenario(opts.align ?? 'success', scenarioLoadOptionsOf(opts)) : undefined;
      const bar = await progressBar();
      const fuzz = opts.fuzz !== undefined ? {
        cases: count(opts.fuzz, '--fuzz'), seed: count(opts.seed, '--seed', 0),
        ...(opts.jobs !== undefined ? { jobs: count(opts.jobs, '--jobs') } : {}),
        ...(opts.shard ? { shard: shardOf(opts.shard) } : {}),
        progress: bar.update,
      } : undefined;
      if (!fuzz && opts.shard) throw new SeamlabError('DIFF_BAD_SHARD', '--shard splits a fuzz campaign', 'add --fuzz N');
      let report: DiffReport;
      try {
        report = await runDiff({
          a: revA, b: revB, pairs, ...(scenarios ? { scenarios } : {}), ...(expect ? { expect } : {}), ...(fuzz ? { fuzz } : {}), ...(align ? { align } : {}),
          profile: opts.profile, budget: count(opts.budget, '--budget'), timeLimitMs: count(opts.timeLimit, '--time-limit'),
        });
      } finally {
        bar.stop();
      }
      await emit(report, opts, print);
    }));

  program
    .command('diff-merge')
    .description('merge the JSON reports of the shards of one `seamlab diff --fuzz N --seed S --shard i/n` campaign; exit status as for diff')
    .argument('<files...>', 'shard reports (seamlab diff --json -o FILE)')
    .option('--json', 'print the merged report as JSON')
    .option('-o, --output <file>', 'also write the merged JSON report to FILE')
    .option('--html <file>', 'also write the merged report as one self-contained HTML page')
    .action((files: string[], opts: { json?: boolean; output?: string; html?: string }) => usage(async () => {
      const { mergeReports, readReport } = await import('../diff/merge.js');
      await emit(mergeReports(files.map(readReport)), opts, print);
    }));
}

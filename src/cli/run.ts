/**
 * `seamlab run [REV] [--fn NAME]… [--scenario NAME|FILE]… [--leaf L [--reg R=V]… [--answer A]]
 * [--profile P | --config FILE] [--json]` and `seamlab scenarios [--show NAME]`. With no
 * arguments, `run` is the main job: every entry point of v3 over the built-in
 * scenarios and sequences, as a table (fitted to the terminal unless piped or
 * --wide). `--leaf` runs one call given on the command line (inline.ts).
 * Exit status: 1 when a run fails its checks or a sequence step its
 * expectation, 2 when a file does not build or the command cannot run at all.
 */
import { Command, Option } from 'commander';
import { SeamlabError } from '../errors.js';
import type { ImageBuilder } from '../run/main-job.js';
import { outputWidth } from '../report/table.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import type { Scenario } from '../seam/scenario.js';
import { EXIT } from './exit-codes.js';
import { noFuzzOption, resolveOptionsOf } from './revision-options.js';
import { allowCodeOption, scenarioLoadOptionsOf } from './scenario-options.js';

export const MAIN_JOB_REVISION = 'v3';

export interface RunCliDeps {
  buildImage?: ImageBuilder;
  print?: (line: string) => void;
  /** The width tables are fitted to (default: the terminal's when stdout is one, else none). */
  width?: number;
}

interface RunOpts {
  fn?: string[];
  scenario?: string[];
  profile: string;
  config?: string;
  fuzz?: boolean;
  allowCode?: boolean;
  json?: boolean;
  details?: boolean;
  strict?: boolean;
  wide?: boolean;
  budget: string;
  timeLimit: string;
  leaf?: string;
  reg: string[];
  answer?: string;
}

/** The scenarios a run asks for: `--scenario`s, or the one call of `--leaf`/`--reg`/`--answer`. */
async function scenariosOf(opts: RunOpts, kinds: ReadonlySet<'seamcall' | 'tdcall'>): Promise<Scenario[]> {
  if (opts.leaf === undefined) {
    const { resolveScenario } = await import('../seam/scenario-file.js');
    if (opts.reg.length || opts.answer !== undefined) {
      throw new SeamlabError('CLI_INLINE_WITHOUT_LEAF', `${opts.reg.length ? '--reg' : '--answer'} describes a call given with --leaf`, 'add --leaf NAME|NUMBER, e.g. --leaf TDH.SYS.RD --reg rdx=0x9100000100000008');
    }
    const out: Scenario[] = [];
    for (const s of opts.scenario ?? []) out.push(await resolveScenario(s, scenarioLoadOptionsOf(opts)));
    return out;
  }
  // A numbered leaf is a SEAMCALL or TDCALL as the selected entry points are (all of one kind), else a SEAMCALL.
  const kind = kinds.size === 1 ? [...kinds][0]! : undefined;
  const { inlineScenario } = await import('../seam/inline.js');
  return [inlineScenario({ leaf: opts.leaf, regs: opts.reg, ...(opts.answer !== undefined ? { answer: opts.answer } : {}), ...(kind ? { kind } : {}) })];
}

function collect(v: string, previous: string[]): string[] {
  return [...previous, v];
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SeamlabError('CLI_BAD_NUMBER', `${what} must be a positive integer, not ${v}`, `e.g. ${what} 1000000`);
  return n;
}

/** A word as a shell would need it written. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * `run --fn __seamcall linux-6.12`: the variadic option took the revision.
 * Say so, with the command line that means what the user meant.
 */
async function checkSwallowedRevision(cmd: Command, opts: RunOpts): Promise<void> {
  if (cmd.args.length > 0) return; // a revision was given: values of --fn/--scenario are what they say
  const [{ builtinScenario }, { isRevisionSpec }] = await Promise.all([import('../seam/builtin-scenarios.js'), import('../intake/spec.js')]);
  const swallowed = [
    ...(opts.fn ?? []).map((v) => ({ option: '--fn', v })),
    ...(opts.scenario ?? []).filter((v) => !builtinScenario(v)).map((v) => ({ option: '--scenario', v })),
  ].find((x) => isRevisionSpec(x.v));
  if (!swallowed) return;
  // commander keeps the words it parsed (not in its typings): the corrected line keeps the user's order.
  const raw: string[] = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? [];
  const at = raw.indexOf('run');
  const rest = at >= 0 ? raw.slice(at + 1) : [...(opts.fn?.length ? ['--fn', ...opts.fn] : []), ...(opts.scenario?.length ? ['--scenario', ...opts.scenario] : [])];
  const drop = rest.lastIndexOf(swallowed.v);
  const fixed = ['seamlab', 'run', swallowed.v, ...rest.filter((_, k) => k !== drop)].map(shellWord).join(' ');
  throw new SeamlabError('RUN_REVISION_AFTER_OPTION', `${swallowed.v} is a revision, not ${swallowed.option === '--fn' ? 'an entry point' : 'a scenario'}: ${swallowed.option} takes several values, so it took the revision written after it`,
    `give the revision first: ${fixed}`);
}

export function registerRun(program: Command, deps: RunCliDeps = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  program
    .command('run')
    .description('run TDX entry points on Unicorn with SEAMCALL/TDCALL served by a handler, and check the System V ABI (no arguments: every v3 entry point over the built-in scenarios)')
    .argument('[revision]', 'built-in name, tree path, or BASE+PATCH… (give it before --fn/--scenario)', MAIN_JOB_REVISION)
    .option('--fn <name...>', 'only these entry points (several values)')
    .option('--scenario <name|file...>', 'built-in scenario or sequence name, or a .yaml/.json/.ts/.mjs scenario file (several values)')
    .addOption(new Option('--leaf <name|number>', 'run one call given here instead of a scenario: TDH.SYS.RD, "TDG.VM.RD v1", SEAMLDR.INFO, 0x22').conflicts('scenario'))
    .option('--reg <r=v>', 'an input register of the --leaf call, e.g. rdx=0x9100000100000008 (repeatable)', collect, [])
    .option('--answer <answer>', 'who answers the --leaf call: success, vmfailinvalid, vmfailvalid, ud, gp, interrupted or a status (name or number); default the model')
    .option('--profile <name>', 'kconfig profile', 'default')
    .addOption(new Option('--config <file>', 'use this kernel .config instead of a profile').conflicts('profile'))
    .addOption(noFuzzOption())
    .addOption(allowCodeOption())
    .option('--json', 'print a JSON document (format seamlab-run): provenance, struct layouts, one record per run')
    .option('--details', 'print every run in detail instead of the table')
    .option('--wide', 'do not fit the table to the terminal width')
    .option('--strict', 'also fail when a run oopses on the fault its own scenario injected')
    .addOption(new Option('--budget <n>', 'instruction budget per run').default(String(DEFAULT_BUDGET)))
    .addOption(new Option('--time-limit <ms>', 'wall-clock limit per run').default(String(DEFAULT_TIME_LIMIT_MS)))
    .action(async (revision: string, opts: RunOpts, cmd: Command) => {
      await checkSwallowedRevision(cmd, opts);
      const [{ resolveRevision }, { jobFailed, runJob }, { jsonText }, { formatDetails, formatTable, jobFooter, runDocument }, { formatSequenceDetails }, { readDotConfig }] = await Promise.all([
        import('../intake/revision.js'), import('../run/main-job.js'), import('../report/json-schema.js'), import('../report/run-report.js'), import('../report/sequence-report.js'), import('../kbuild/environment.js'),
      ]);
      const budget = positiveInt(opts.budget, '--budget');
      const timeLimitMs = positiveInt(opts.timeLimit, '--time-limit');
      // A bad --config is refused once, here, not once per file that would build with it.
      if (opts.config !== undefined) readDotConfig(opts.config);
      const rev = resolveRevision(revision, resolveOptionsOf(opts));
      const kinds = new Set(rev.functions.filter((f) => !opts.fn || opts.fn.includes(f.name)).map((f) => f.kind));
      const scenarios = await scenariosOf(opts, kinds);
      // The leak check follows register origins with Capstone's regs-access.
      await (await import('../encode/capstone.js')).loadDisassembler();
      const job = runJob(rev, {
        ...(opts.fn ? { functions: opts.fn } : {}), scenarios, profile: opts.profile, budget, timeLimitMs,
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(deps.buildImage ? { buildImage: deps.buildImage } : {}),
      });
      const failed = jobFailed(job.results, opts.strict, job.sequences);
      const report = { skipped: job.skipped, failed: job.failed, sequences: job.sequences, ...widthOf(deps, opts.wide) };
      if (opts.json) {
        print(jsonText(runDocument({ revision: rev, profile: opts.profile, ...(opts.config !== undefined ? { config: opts.config } : {}), results: job.results, sequences: job.sequences, skipped: job.skipped, failed: job.failed, jobFailed: failed })));
      } else if (opts.details) {
        print([...job.results.map(formatDetails), ...job.sequences.map(formatSequenceDetails), jobFooter(job.results, report).join('\n')].join('\n\n'));
      } else {
        print(formatTable(job.results, report));
      }
      if (job.failed.length) process.exitCode = EXIT.userError;
      else if (failed) process.exitCode = EXIT.checkFailed;
    });
}

function widthOf(deps: { width?: number }, wide: boolean | undefined): { width?: number } {
  if (wide) return {};
  const w = deps.width ?? outputWidth(process.stdout);
  return w === undefined ? {} : { width: w };
}

export function registerScenarios(program: Command, deps: { print?: (line: string) => void; width?: number } = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  program
    .command('scenarios')
    .description('list the built-in scenarios and sequences (user scenarios: see src/seam/SCENARIOS.md); --show prints one as a scenario file')
    .addOption(new Option('--show <name>', 'print this built-in scenario or sequence as YAML, a file to start your own from').conflicts(['json', 'wide']))
    .option('--json', 'a JSON document (format seamlab-scenarios)')
    .option('--wide', 'do not fit the list to the terminal width')
    .action(async (opts: { show?: string; json?: boolean; wide?: boolean }) => {
      const [{ BUILTIN_SCENARIOS, BUILTIN_SEQUENCES, builtinScenario }, { scenarioToYaml }, { documentHeader, jsonText }, { formatScenarioList }] = await Promise.all([
        import('../seam/builtin-scenarios.js'), import('../seam/inline.js'), import('../report/json-schema.js'), import('../report/run-report.js'),
      ]);
      const all = [...BUILTIN_SCENARIOS, ...BUILTIN_SEQUENCES];
      if (opts.show !== undefined) {
        const s = builtinScenario(opts.show);
        if (!s) throw new SeamlabError('SCENARIO_UNKNOWN', `no built-in scenario named ${opts.show}`, `pick one of ${all.map((x) => x.name).join(', ')}`);
        print(scenarioToYaml(s).trimEnd());
        return;
      }
      if (opts.json) {
        print(jsonText({
          ...documentHeader('scenarios'),
          scenarios: all.map((s) => ({
            name: s.name, summary: s.summary, sides: s.sequence ? [s.sequence.kind] : Object.keys(s.cases), requiresOutputPointer: !!s.requiresOutputPointer,
            ...(s.sequence ? { steps: s.sequence.steps.length } : {}),
          })),
        }));
        return;
      }
      print(formatScenarioList(all, widthOf(deps, opts.wide).width));
    });
}

/**
 * `seamlab oracle [REV|all] [--fn NAME]… [--scenario NAME|FILE]… [--profile P|all]`
 * and `… --fuzz N --seed S`: run entry points on Unicorn and on the host
 * CPU (single-stepped under ptrace, src/oracle) and compare every
 * instruction. Exit status 1 when they diverge anywhere.
 */
import { Command, Option } from 'commander';
import { SeamlabError } from '../errors.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';
import type { Oracle } from '../oracle/oracle.js';
import { ORACLE_BUDGET } from '../oracle/limits.js';
import type { ImageBuilder } from '../run/main-job.js';
import type { Scenario } from '../seam/scenario.js';
import { allowCodeOption, scenarioLoadOptionsOf } from './scenario-options.js';

export interface OracleCliDeps {
  buildImage?: ImageBuilder;
  print?: (line: string) => void;
  /** The oracle to use (tests share one); closed by the caller then. */
  oracle?: Oracle;
}

interface OracleOpts {
  fn?: string[];
  allowCode?: boolean;
  scenario?: string[];
  profile: string;
  fuzz?: string;
  seed: string;
  budget: string;
}

function count(v: string, what: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new SeamlabError('CLI_BAD_NUMBER', `${what} must be an integer ≥ ${min}, not ${v}`, `e.g. ${what} 1000`);
  return n;
}

async function profilesOf(name: string): Promise<string[]> {
  const { PROFILES } = await import('../kbuild/kconfig/profiles.js');
  if (name === 'all') return PROFILES.map((p) => p.name);
  if (!PROFILES.some((p) => p.name === name)) {
    throw new SeamlabError('UNKNOWN_PROFILE', `no kconfig profile named ${JSON.stringify(name)}`, `use one of: ${PROFILES.map((p) => p.name).join(', ')}, or all`);
  }
  return [name];
}

async function revisionsOf(spec: string): Promise<Revision[]> {
  const { listBuiltinRevisions, resolveRevision } = await import('../intake/revision.js');
  if (spec === 'all') return listBuiltinRevisions().map((r) => resolveRevision(r.name));
  return [resolveRevision(spec)];
}

export function registerOracle(program: Command, deps: OracleCliDeps = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  program
    .command('oracle')
    .description('run entry points on Unicorn and on this CPU (single-stepped under ptrace) and compare every instruction: registers, defined flags, memory')
    .argument('[revision]', 'built-in name, tree path, BASE+PATCH…, or all (every built-in revision)', 'v3')
    .option('--fn <name...>', 'only these entry points')
    .option('--scenario <name|file...>', 'built-in scenario names or scenario files (default: every built-in scenario)')
    .option('--profile <name>', 'kconfig profile, or all', 'default')
    .option('--fuzz <n>', 'run N random scenarios per revision and profile instead, and shrink a divergence')
    .option('--seed <s>', 'seed of the random scenarios', '1')
    .addOption(allowCodeOption())
    .addOption(new Option('--budget <n>', 'instruction budget per run').default(String(ORACLE_BUDGET)))
    .action(async (revision: string, opts: OracleOpts) => {
      const budget = count(opts.budget, '--budget', 1);
      const fuzz = opts.fuzz === undefined ? undefined : count(opts.fuzz, '--fuzz', 1);
      const seed = count(opts.seed, '--seed', 0);
      const [{ buildImage }, { formatOracleDivergence }, { fuzzOracle }, { Oracle }, { selectFunctions }, { notApplicable }, { BUILTIN_SCENARIOS }, { resolveScenario }] = await Promise.all([
        import('../image/build.js'), import('../oracle/compare.js'), import('../oracle/fuzz.js'), import('../oracle/oracle.js'),
        import('../run/main-job.js'), import('../run/run.js'), import('../seam/builtin-scenarios.js'), import('../seam/scenario-file.js'),
      ]);
      const revisions = await revisionsOf(revision);
      const profiles = await profilesOf(opts.profile);
      const scenarios: Scenario[] = [];
      for (const s of opts.scenario ?? []) scenarios.push(await resolveScenario(s, scenarioLoadOptionsOf(opts)));
      if (fuzz !== undefined && scenarios.length) throw new SeamlabError('CLI_CONFLICT', '--fuzz makes its own scenarios; it cannot be combined with --scenario', 'drop one of the two');
      const oracle = deps.oracle ?? await Oracle.open();
      const images = new Map<string, Image>();
      const imageOf = (rev: Revision, fn: EntryFunction, profile: string): Image => {
        const key = `${rev.name}\0${fn.sourceFile}\0${profile}`;
        let img = images.get(key);
        if (!img) {
          img = deps.buildImage ? deps.buildImage(rev, fn.sourceFile, profile) : buildImage(rev.files, fn.sourceFile, { profile }).image;
          images.set(key, img);
        }
        return img;
      };
      let diverged = false;
      let runs = 0;
      let instructions = 0;
      try {
        for (const rev of revisions) {
          const fns = selectFunctions(rev, opts.fn);
          for (const profile of profiles) {
            if (fuzz !== undefined) {
              const targets = fns.map((fn) => ({ fn, image: imageOf(rev, fn, profile) }));
              const r = await fuzzOracle(oracle, targets, { revision: rev.name, profile, runs: fuzz, seed });
              runs += r.runs;
              instructions += r.instructions;
              const tally = (o: Record<string, number>) => Object.entries(o).sort().map(([k, v]) => `${k} ${v}`).join(', ');
              print(`${rev.name} ${profile}: ${r.runs} random scenarios (seed ${seed}), ${r.instructions} instructions; ends: ${tally(r.ends)}; SEAM answers: ${tally(r.answers)}; exception-table fixups ${r.fixups}`);
              if (r.failure) {
                diverged = true;
                const f = r.failure;
                print(formatOracleDivergence(f.divergence, `${rev.name} ${profile} ${f.function} (shrunk in ${f.shrinks} steps)`));
                print(`minimal scenario (save it as a .yaml file and replay it with: seamlab oracle ${rev.name} --profile ${profile} --fn ${f.function} --scenario FILE):`);
                print(f.scenarioFile.trimEnd());
              }
              continue;
            }
            let revRuns = 0;
            let revInsns = 0;
            for (const fn of fns) {
              for (const sc of scenarios.length ? scenarios : BUILTIN_SCENARIOS) {
                if (notApplicable(sc, fn)) continue;
                const r = oracle.run(imageOf(rev, fn, profile), fn, sc, { revision: rev.name, profile, budget });
                revRuns++;
                revInsns += r.instructions;
                if (r.divergence) {
                  diverged = true;
                  print(formatOracleDivergence(r.divergence, `${rev.name} ${profile} ${fn.name} × ${sc.name}`));
                }
              }
            }
            if (revRuns === 0) {
              throw new SeamlabError('RUN_NOTHING', `none of the selected scenarios applies to the selected functions of ${rev.name}`, 'choose host scenarios for SEAMCALL entry points and guest ones for TDCALL entry points (`seamlab scenarios`)');
            }
            runs += revRuns;
            instructions += revInsns;
            print(`${rev.name} ${profile}: ${revRuns} runs, ${revInsns} instructions compared`);
          }
        }
      } finally {
        if (!deps.oracle) oracle.close();
      }
      if (diverged) {
        process.exitCode = 1;
        print('Unicorn and this CPU DIVERGED (see above)');
      } else {
        print(`Unicorn and this CPU agree on every instruction: ${runs} runs, ${instructions} instructions (${revisions.map((r) => r.name).join(', ')}; profiles ${profiles.join(', ')})`);
      }
    });
}


/**
 * The `seamlab` command line. Each subcommand is a thin front end over the
 * library; user errors (SeamlabError) print as `file:line: error: … hint: …`
 * without a stack trace and exit 1. Anything else is a seamlab bug: it prints
 * the stack and exits 70.
 */
import { Command, CommanderError } from 'commander';
import { formatError, isSeamlabError } from '../errors.js';
import { formatDoctor, runDoctor } from './doctor.js';
import { runSetup } from './setup.js';
import { registerRevisions } from './revisions.js';
import { registerCpp, registerProfiles } from './cpp.js';
import { registerBuild } from './build.js';
import { registerRun, registerScenarios } from './run.js';
import { registerGolden, registerTrace } from './trace.js';
import { registerDiff } from './diff.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('seamlab')
    .description("Run the Linux kernel's real TDX_MODULE_CALL assembly on Unicorn, with SEAMCALL/TDCALL served by a TypeScript SEAM-root handler.")
    .showHelpAfterError()
    .exitOverride();

  program
    .command('setup')
    .description('install libunicorn2 if missing (root + apt) and fetch the Debian kernel trees into the cache')
    .option('--tree <name...>', 'only these built-in trees')
    .action((opts: { tree?: string[] }) => {
      runSetup((l) => console.log(l), { trees: opts.tree });
    });

  program
    .command('doctor')
    .description('report versions of Node, Unicorn, Keystone, Capstone, the cached kernel trees and the test oracles')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const items = await runDoctor();
      console.log(opts.json ? JSON.stringify(items, null, 2) : formatDoctor(items));
      if (items.some((i) => i.required && !i.ok)) process.exitCode = 1;
    });

  registerRevisions(program);
  registerProfiles(program);
  registerCpp(program);
  registerBuild(program);
  registerScenarios(program);
  registerRun(program);
  registerTrace(program);
  registerGolden(program);
  registerDiff(program);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isSeamlabError(e)) {
      console.error(formatError(e));
      return 1;
    }
    console.error('seamlab: internal error (this is a bug in seamlab, please report it):');
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    return 70;
  }
}

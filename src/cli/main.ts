/**
 * The `seamlab` command line. Each subcommand is a thin front end over the
 * library and src/report. Exit status (src/cli/exit-codes.ts): 0 done, 1 a
 * check failed, 2 seamlab could not do it (bad usage, or a user error — a
 * SeamlabError, printed as `file:line: error: … hint: …` without a stack
 * trace), 70 an internal error (a seamlab bug: the stack is printed).
 * With --json, a failure also prints a JSON error document on stdout.
 *
 * Start-up cost: `buildProgram()` describes every command and option (the
 * README is compared with it), but the command modules import what their
 * actions run only inside the actions (`await import(…)`), so `--version`,
 * `--help` and each command load commander and the code that command uses,
 * not the whole pipeline (test/cli-startup.test.ts checks the start-up
 * import graph). Keep it so: a command module's static imports are commander,
 * its siblings in src/cli, types, and small constant modules.
 */
import { Command, CommanderError } from 'commander';
import { formatError, isSeamlabError, type SeamlabError } from '../errors.js';
import type { ErrorObject } from '../report/json-schema.js';
import { startProgress } from '../report/progress.js';
import { outputWidth } from '../report/table.js';
import { setProgressSink } from '../support/progress.js';
import { EXIT, EXIT_STATUS_HELP } from './exit-codes.js';
import { asksVersion, versionText } from './doctor.js';
import { registerRevisions } from './revisions.js';
import { registerCpp, registerProfiles } from './cpp.js';
import { registerBuild } from './build.js';
import { registerRun, registerScenarios } from './run.js';
import { registerGolden, registerTrace } from './trace.js';
import { registerOracle } from './oracle.js';
import { registerDebug } from './debug.js';
import { registerDiff } from './diff.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('seamlab')
    .description("Run the Linux kernel's real TDX_MODULE_CALL assembly on Unicorn, with SEAMCALL/TDCALL served by a TypeScript SEAM-root handler.")
    // Handled in main() before parsing (so that --verbose may follow); listed here for --help.
    .option('-V, --version', 'print the version (with --verbose: Node, Unicorn, Keystone and Capstone too)')
    .option('--verbose', 'with --version: the engine versions too')
    .addHelpText('after', `\n${EXIT_STATUS_HELP}`)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('setup')
    .description('install libunicorn2 if missing (root + apt), fetch the Debian kernel trees into the cache, and (without --tree) warm the disk caches')
    .option('--tree <name...>', 'only these built-in trees')
    .option('--verify', 'check every file of the cached trees against its recorded git blob id (not only size and time); rebuild a damaged tree')
    .action(async (opts: { tree?: string[]; verify?: boolean }) => {
      const { runSetup, warmDiskCaches } = await import('./setup.js');
      const log = (l: string) => console.log(l);
      runSetup(log, { trees: opts.tree, verify: opts.verify });
      // Only a whole setup warms the caches (the main job's revision needs the built-in trees).
      if (!opts.tree) await warmDiskCaches(log);
    });

  program
    .command('doctor')
    .description('report versions of Node, Unicorn, Keystone, Capstone, the cached kernel trees and the test oracles')
    .option('--json', 'a JSON document (format seamlab-doctor)')
    .option('--wide', 'do not fit the table to the terminal width')
    .action(async (opts: { json?: boolean; wide?: boolean }) => {
      const [{ runDoctor }, { doctorDocument, formatDoctor }, { jsonText }] = await Promise.all([import('./doctor.js'), import('../report/doctor-report.js'), import('../report/json-schema.js')]);
      const items = await runDoctor();
      console.log(opts.json ? jsonText(doctorDocument(items)) : formatDoctor(items, outputWidth(process.stdout, opts.wide)));
      if (items.some((i) => i.required && !i.ok)) process.exitCode = EXIT.checkFailed;
    });

  registerRevisions(program);
  registerProfiles(program);
  registerCpp(program);
  registerBuild(program);
  registerScenarios(program);
  registerRun(program);
  registerTrace(program);
  registerGolden(program);
  registerOracle(program);
  registerDebug(program);
  registerDiff(program);

  return program;
}

/** The subcommand an argument list names (the first word that is not an option), if any. */
function commandOf(program: Command, argv: string[]): string | undefined {
  const names = new Set(program.commands.map((c) => c.name()));
  return argv.find((a) => names.has(a));
}

/** Prints a failure: the message on stderr and, with --json, an error document on stdout. */
async function reportFailure(command: string | undefined, json: boolean, error: (errorObject: (e: SeamlabError) => ErrorObject) => ErrorObject, text: string | undefined): Promise<void> {
  if (text !== undefined) console.error(text);
  if (!json) return;
  const { documentHeader, errorObject, jsonText } = await import('../report/json-schema.js');
  console.log(jsonText({ ...documentHeader(command ?? 'seamlab'), error: error(errorObject) }));
}

/** Maps what escaped a command to the exit status, printing it the way the status says. */
export async function failureExit(e: unknown, command: string | undefined, json: boolean): Promise<number> {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return EXIT.ok; // --help
    // commander has already printed its message and the usage.
    await reportFailure(command, json, () => ({ code: 'CLI_USAGE', message: e.message.replace(/^error: /, ''), hint: `see seamlab ${command ? `${command} ` : ''}--help`, notes: [] }), undefined);
    return EXIT.userError;
  }
  if (isSeamlabError(e)) {
    await reportFailure(command, json, (errorObject) => errorObject(e), formatError(e));
    return EXIT.userError;
  }
  const message = e instanceof Error ? e.message : String(e);
  await reportFailure(command, json, () => ({ code: 'INTERNAL', message, hint: 'this is a bug in seamlab: please report it with the command line', notes: [] }),
    `seamlab: internal error (this is a bug in seamlab, please report it):\n${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return EXIT.internal;
}

export async function main(argv: string[], program: Command = buildProgram()): Promise<number> {
  const json = argv.includes('--json');
  const command = commandOf(program, argv);
  // What a slow step is doing, on stderr, only when stderr is a terminal (src/report/progress.ts).
  const progress = startProgress({ fd: 2, isTTY: process.stderr.isTTY === true });
  const previousSink = setProgressSink(progress);
  try {
    if (asksVersion(argv)) {
      console.log(await versionText(argv.includes('--verbose')));
      return EXIT.ok;
    }
    process.exitCode = undefined;
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    progress.stop();
    return await failureExit(e, command, json);
  } finally {
    progress.stop();
    setProgressSink(previousSink);
  }
}

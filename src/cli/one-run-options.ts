/**
 * What names the one run that `trace` and `debug` follow: the revision
 * (argument, v3 by default), --fn, --scenario and --profile, declared once so
 * the two commands take and describe them alike. `run`, `oracle` and `diff`
 * take several entry points and scenarios and declare their own. Start-up
 * loads this file for every command, so it imports commander's types only.
 */
import type { Command } from 'commander';

export interface OneRunOptions {
  /** Absent: the revision's only entry point (the command refuses a revision with several). */
  fn?: string;
  scenario: string;
  profile: string;
}

/** Adds the `[revision]` argument and --fn, --scenario and --profile to `command`; returns it for further options. */
export function addOneRunOptions(command: Command): Command {
  return command
    .argument('[revision]', 'built-in name, tree path, or BASE+PATCH…', 'v3')
    .option('--fn <name>', 'the entry point (required when the revision has more than one)')
    .option('--scenario <name|file>', 'built-in scenario name or a scenario file', 'success')
    .option('--profile <name>', 'kconfig profile', 'default');
}

/**
 * Options every command that takes `--scenario` shares: `--allow-code` lets
 * a YAML/JSON scenario file load a handler module (`handler: {module: …}`),
 * which runs as code with the user's privileges (src/seam/scenario-file.ts
 * ScenarioLoadOptions). Without it such a file is refused where it names
 * the module, so a scenario from a mailing list is data only.
 */
import { Option } from 'commander';
import type { ScenarioLoadOptions } from '../seam/scenario-file.js';
import { DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';

export function allowCodeOption(): Option {
  return new Option('--allow-code', 'let YAML/JSON scenario files load handler modules (handler: {module: FILE}), which run as code with your privileges');
}

/**
 * How the CLI loads scenario files: code only with --allow-code, and a
 * module's top-level code held to the run's --time-limit (as its handler's
 * calls are), so that a module that loops when loaded ends the command.
 */
export function scenarioLoadOptionsOf(opts: { allowCode?: boolean; timeLimit?: string }): ScenarioLoadOptions {
  const limit = Number(opts.timeLimit);
  return { ...(opts.allowCode ? { allowCode: true } : {}), timeLimitMs: Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_TIME_LIMIT_MS };
}

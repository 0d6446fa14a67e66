/**
 * Options every command that takes `--scenario` shares: `--allow-code` lets
 * a YAML/JSON scenario file load a handler module (`handler: {module: …}`),
 * which runs as code with the user's privileges (src/seam/scenario-file.ts
 * ScenarioLoadOptions). Without it such a file is refused where it names
 * the module, so a scenario from a mailing list is data only.
 */
import { Option } from 'commander';
import type { ScenarioLoadOptions } from '../seam/scenario-file.js';

export function allowCodeOption(): Option {
  return new Option('--allow-code', 'let YAML/JSON scenario files load handler modules (handler: {module: FILE}), which run as code with your privileges');
}

export function scenarioLoadOptionsOf(opts: { allowCode?: boolean }): ScenarioLoadOptions {
  return opts.allowCode ? { allowCode: true } : {};
}

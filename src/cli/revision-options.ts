/**
 * Options every command that takes a revision spec shares: `--no-fuzz`
 * refuses patch hunks that GNU patch would apply only with fuzz.
 */
import { Option } from 'commander';
import type { ResolveOptions } from '../intake/revision.js';

export function noFuzzOption(): Option {
  return new Option('--no-fuzz', 'refuse patch hunks whose context does not all match (by default they apply with fuzz up to 2, as GNU patch does)');
}

/** commander gives `fuzz: false` for --no-fuzz. */
export function resolveOptionsOf(opts: { fuzz?: boolean }): ResolveOptions {
  return opts.fuzz === false ? { maxFuzz: 0 } : {};
}

/**
 * Test oracles (gcc, GNU as/ld, gdb, chromium, C headers). .ci/run installs
 * them, so under CI a missing oracle is a failure; locally the test is
 * skipped with a loud message instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export function hasCommand(cmd: string, args = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

export function hasFile(path: string): boolean {
  return existsSync(path);
}

/**
 * Returns true when the oracle is usable. When it is not: throws under CI,
 * otherwise prints a loud warning and returns false (the caller skips).
 */
export function requireOracle(name: string, available: boolean, install: string): boolean {
  if (available) return true;
  const msg = `ORACLE MISSING: ${name} is not available (${install}); the tests that need it are SKIPPED`;
  if (IN_CI) throw new Error(msg.replace('are SKIPPED', 'cannot run, and CI must run them'));
  console.warn(`\n*** ${msg} ***\n`);
  return false;
}

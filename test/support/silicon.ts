/**
 * Whether the silicon-oracle tests can run here: the runner must build (a C
 * compiler — .ci/run installs gcc, so under CI a missing one is a failure)
 * and ptrace must be permitted (where it is not, the tests are skipped with
 * a loud message, as the issue asks).
 */
import { siliconAvailability } from '../../src/oracle/silicon.js';
import { requireOracle } from './oracles.js';

let cached: boolean | undefined;

export function siliconUsable(): boolean {
  if (cached !== undefined) return cached;
  const a = siliconAvailability();
  if (a.ok) return (cached = true);
  if (a.code === 'ORACLE_NO_PTRACE' || a.code === 'ORACLE_UNSUPPORTED_HOST') {
    console.warn(`\n*** SILICON ORACLE SKIPPED: ${a.reason} ***\n`);
    return (cached = false);
  }
  return (cached = requireOracle('the silicon-oracle runner (C compiler)', false, `${a.reason}; apt-get install gcc libc6-dev`));
}

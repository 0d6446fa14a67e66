/**
 * Building the silicon-oracle runner (src/oracle/native/runner.c) with the
 * system C compiler, through seamlab's one native build step
 * (src/support/native-build.ts: $SEAMLAB_CACHE/native/<hash>/).
 * `seamlab setup` builds it; a run that finds it missing builds it then,
 * saying so on stderr.
 */
import { SeamlabError } from '../errors.js';
import { buildNative, type NativeTarget } from '../support/native-build.js';

export const RUNNER_SOURCE = 'src/oracle/native/runner.c';
export const RUNNER_BINARY = 'seamlab-oracle-runner';
const RUNNER: NativeTarget = { name: RUNNER_BINARY, source: RUNNER_SOURCE, kind: 'executable', cflags: ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'] };

/** Why the oracle cannot run on this host at all (it needs Linux on x86-64), or undefined. */
export function unsupportedHost(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the silicon oracle needs Linux on x86-64 (this is ${process.platform}/${process.arch})`;
  return undefined;
}

export interface RunnerBuild {
  path: string;
  /** False when the cached binary was already there. */
  compiled: boolean;
}

/** Compiles the runner unless the cached binary for this source exists. */
export function buildRunner(opts: { cache?: string; log?: (line: string) => void } = {}): RunnerBuild {
  const bad = unsupportedHost();
  if (bad) throw new SeamlabError('ORACLE_UNSUPPORTED_HOST', bad, 'run the oracle on an x86-64 Linux machine');
  const b = buildNative(RUNNER, { ...(opts.cache ? { cache: opts.cache } : {}), log: (l) => opts.log?.(l.replace(/^compiling /, 'compiling the silicon-oracle runner (').replace(/ with /, ') with ')) });
  if (b.ok) return { path: b.path, compiled: b.compiled };
  if (b.problem === 'no-compiler') {
    throw new SeamlabError('ORACLE_NO_COMPILER', b.message, 'install a C compiler (Debian: apt-get install gcc libc6-dev) or set CC, then run `seamlab setup`');
  }
  throw new SeamlabError('ORACLE_COMPILE_FAILED', b.message, 'check that the C library headers are installed (Debian: apt-get install libc6-dev)', { notes: b.notes });
}

/** The runner binary, compiled now (with a message on stderr) if setup has not built it. */
export function ensureRunner(log: (line: string) => void = (l) => process.stderr.write(`seamlab: ${l}\n`)): string {
  return buildRunner({ log }).path;
}

/**
 * The setup step: builds the runner, or says why the oracle will not be
 * available (no C compiler, not x86-64 Linux) without failing the setup —
 * the oracle is optional; running it later repeats the precise error.
 */
export function setupRunner(log: (line: string) => void, cache?: string): void {
  try {
    const b = buildRunner({ ...(cache ? { cache } : {}), log: (l) => log(`  ${l}`) });
    log(`  silicon-oracle runner: ${b.compiled ? 'built' : 'ok'} (${b.path})`);
  } catch (e) {
    if (!(e instanceof SeamlabError)) throw e;
    log(`  silicon-oracle runner: not built: ${e.message} (hint: ${e.hint}); \`seamlab oracle\` will not run`);
  }
}

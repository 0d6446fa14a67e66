/**
 * Building the silicon-oracle runner (src/oracle/native/runner.c) with the
 * system C compiler. The binary lives in $SEAMLAB_CACHE/native/<hash>/,
 * where the hash covers the source, the compiler command and the flags, so
 * a changed source (or compiler) builds a new binary next to the old one.
 * `seamlab setup` builds it; a run that finds it missing builds it then,
 * saying so on stderr.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SeamlabError } from '../errors.js';
import { cacheDir } from '../support/cache.js';
import { packageRoot } from '../support/package-root.js';

export const RUNNER_SOURCE = 'src/oracle/native/runner.c';
export const RUNNER_BINARY = 'seamlab-oracle-runner';
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];

/** The compiler: $CC, else `cc`. */
export function compilerCommand(): string {
  return process.env.CC || 'cc';
}

/** Why the oracle cannot run on this host at all (it needs Linux on x86-64), or undefined. */
export function unsupportedHost(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the silicon oracle needs Linux on x86-64 (this is ${process.platform}/${process.arch})`;
  return undefined;
}

export function runnerSourcePath(): string {
  return path.join(packageRoot(), RUNNER_SOURCE);
}

/** Where the runner for the current source and compiler lives (built or not). */
export function runnerBinaryPath(cache = cacheDir()): string {
  const source = fs.readFileSync(runnerSourcePath());
  const h = createHash('sha256').update(source).update(`\0${compilerCommand()}\0${CFLAGS.join(' ')}`).digest('hex').slice(0, 16);
  return path.join(cache, 'native', h, RUNNER_BINARY);
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
  const out = runnerBinaryPath(opts.cache);
  if (fs.existsSync(out)) return { path: out, compiled: false };
  const cc = compilerCommand();
  opts.log?.(`compiling the silicon-oracle runner (${RUNNER_SOURCE}) with ${cc}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, [...CFLAGS, '-o', tmp, runnerSourcePath()], { encoding: 'utf8' });
  if (r.error) {
    fs.rmSync(tmp, { force: true });
    throw new SeamlabError('ORACLE_NO_COMPILER', `cannot run the C compiler ${cc}: ${r.error.message}`,
      'install a C compiler (Debian: apt-get install gcc libc6-dev) or set CC, then run `seamlab setup`');
  }
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new SeamlabError('ORACLE_COMPILE_FAILED', `${cc} could not compile ${RUNNER_SOURCE}`,
      'check that the C library headers are installed (Debian: apt-get install libc6-dev)', { notes: (r.stderr || r.stdout).trim().split('\n').slice(0, 12) });
  }
  fs.renameSync(tmp, out);
  return { path: out, compiled: true };
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

/**
 * Runs seamlab's CLI for tests: the bundled dist/seamlab.js in a child
 * process (npm test builds dist/ first), or, in process, a fresh commander
 * program with only the commands under test registered.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { isSeamlabError, type SeamlabError } from '../../src/errors.js';

export const CLI = path.resolve(import.meta.dirname, '../../dist/seamlab.js');

export interface CliResult { status: number; stdout: string; stderr: string }

export function seamlab(args: string[], env: Record<string, string | undefined> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, input, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the bundled CLI with stdout on a pseudo-terminal `columns` wide
 * (util-linux `script`, in every Debian install), as a user at a terminal
 * sees it. stderr goes to a file, not the terminal: progress lines redrawn
 * with carriage returns would otherwise mix into what is measured. Returns
 * stdout with terminal codes and carriage returns removed.
 */
export function seamlabOnTerminal(args: string[], columns: number): CliResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'seamlab-tty-'));
  try {
    const errFile = path.join(dir, 'stderr');
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = `stty cols ${columns} rows 50; ${[process.execPath, CLI, ...args].map(quote).join(' ')} 2>${quote(errFile)}`;
    const r = spawnSync('script', ['-qefc', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
    const stdout = r.stdout.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').replace(/\r/g, '');
    return { status: r.status ?? -1, stdout, stderr: readFileSync(errFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface InProcessResult { out: string; exitCode: number; error?: SeamlabError }

/**
 * Parses `args` on a fresh commander program in this process. `register`
 * adds the commands under test, handing them `print` (which collects the
 * lines they print). A SeamlabError thrown by the command is returned, not
 * thrown; process.exitCode is cleared before and after, and what the
 * command set is returned (0 when it set none).
 */
export async function cliInProcess(args: string[], register: (program: Command, print: (line: string) => void) => void): Promise<InProcessResult> {
  const lines: string[] = [];
  const program = new Command().exitOverride();
  register(program, (l) => lines.push(l));
  process.exitCode = undefined;
  let error: SeamlabError | undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (!isSeamlabError(e)) throw e;
    error = e;
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exitCode = undefined;
  return { out: lines.join('\n'), exitCode, ...(error ? { error } : {}) };
}

/**
 * `seamlab debug [REV] --fn NAME --scenario NAME|FILE [--profile P] [--batch FILE]`:
 * the debugger core behind a gdb-like prompt (src/debug/repl.ts), with
 * history and tab completion from node:readline, Ctrl-C interrupting a
 * `continue`; or, with `--batch FILE` (or commands piped on stdin), the
 * commands of a script with no prompt, for tests and scripted sessions;
 * or, with `--gdb PORT`, the same debugger served to gdb (src/cli/debug-gdb.ts).
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { Command, Option } from 'commander';
import type { Debugger } from '../debug/debugger.js';
import type { DebugRepl } from '../debug/repl.js';
import { SeamlabError } from '../errors.js';
import type { Revision } from '../intake/types.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import { allowCodeOption, scenarioLoadOptionsOf } from './scenario-options.js';
import { addOneRunOptions, type OneRunOptions } from './one-run-options.js';
import { DEFAULT_GDB_HOST } from '../gdb/server.js';
import { readUserFile } from '../support/user-files.js';
import { addGdbOptions, listenWarning, type GdbStubOptions } from './debug-gdb.js';

export interface DebugOpts extends OneRunOptions {
  allowCode?: boolean;
  batch?: string;
  budget: string;
  timeLimit: string;
  /** --gdb PORT and its companions (src/cli/debug-gdb.ts). */
  gdb?: string;
  listen?: GdbStubOptions['listen'];
  elf?: GdbStubOptions['elf'];
  gdbLog?: GdbStubOptions['gdbLog'];
}

/** The entry point to debug: --fn, or the revision's only one. */
export function debugFunction(rev: Revision, fn: string | undefined): string {
  const name = fn ?? (rev.functions.length === 1 ? rev.functions[0]!.name : undefined);
  if (!name) {
    throw new SeamlabError('DEBUG_NO_FUNCTION', `${rev.name} has ${rev.functions.length} entry points; say which to debug`, `add --fn NAME (one of ${rev.functions.map((f) => f.name).join(', ')})`);
  }
  return name;
}

/** Opens the debugger for the command line's revision, function and scenario. */
export async function openDebugger(revision: string, opts: Omit<DebugOpts, 'batch'>): Promise<Debugger> {
  const [{ resolveRevision }, { resolveScenario }, { Debugger }] = await Promise.all([import('../intake/revision.js'), import('../seam/scenario-file.js'), import('../debug/debugger.js')]);
  const rev = resolveRevision(revision);
  const scenario = await resolveScenario(opts.scenario, scenarioLoadOptionsOf(opts));
  return Debugger.open({ revision: rev, fn: debugFunction(rev, opts.fn), scenario, profile: opts.profile, budget: Number(opts.budget), timeLimitMs: Number(opts.timeLimit) });
}

/** Runs a script's commands; returns the number that failed. */
export async function runBatch(repl: DebugRepl, script: string): Promise<number> {
  for (const line of script.split('\n')) if (!(await repl.execute(line))) break;
  return repl.errors;
}

function historyFile(): string | undefined {
  const home = process.env.HOME;
  return home ? `${home}/.seamlab_debug_history` : undefined;
}

async function interactive(d: Debugger, repl: DebugRepl): Promise<void> {
  const file = historyFile();
  let history: string[] = [];
  try {
    if (file) history = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch {
    history = [];
  }
  const readline = await import('node:readline');
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: '(seamlab) ', completer: (line: string) => repl.complete(line), history, historySize: 1000 });
  let busy = false;
  rl.on('SIGINT', () => {
    if (busy) d.interrupt();
    else {
      process.stdout.write('^C\n');
      rl.prompt();
    }
  });
  repl.showStop();
  rl.prompt();
  try {
    for await (const line of rl) {
      busy = true;
      const go = await repl.execute(line);
      busy = false;
      if (!go) break;
      rl.prompt();
    }
  } finally {
    rl.close();
    if (file) {
      try {
        fs.writeFileSync(file, [...(rl as unknown as { history: string[] }).history].reverse().join('\n') + '\n');
      } catch {
        // History is a convenience: an unwritable home directory is not an error.
      }
    }
  }
}

/** `seamlab dap`: the Debug Adapter Protocol on stdin/stdout, or with --port as a TCP server on 127.0.0.1 (VS Code's "debugServer"). */
export function registerDap(program: Command): Command {
  return program
    .command('dap')
    .description('serve the Debug Adapter Protocol on stdin/stdout (or --port: on 127.0.0.1, one session per connection) for VS Code and other DAP clients; see the README for launch configurations')
    .option('--port <n>', 'listen on 127.0.0.1:PORT instead of stdin/stdout (0: any free port, printed on stderr)')
    .option('--listen <addr>', `address for --port (default ${DEFAULT_GDB_HOST}; another one prints a warning: whoever connects controls the run)`)
    .action(async (opts: { port?: string; listen?: string }) => {
      const { runAdapter } = await import('../debug/dap/run.js');
      const open = (c: Parameters<Parameters<typeof runAdapter>[2]>[0]) => openDebugger(c.revision, {
        ...(c.function ? { fn: c.function } : {}), scenario: c.scenario, profile: c.profile, allowCode: c.allowCode,
        budget: String(c.budget ?? DEFAULT_BUDGET), timeLimit: String(c.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS),
      });
      if (opts.port === undefined) {
        await runAdapter(process.stdin, process.stdout, open);
        return;
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SeamlabError('CLI_BAD_NUMBER', `--port must be a port number, not ${opts.port}`, 'e.g. --port 4711');
      // Loopback only unless --listen says otherwise: a DAP client can read and write the run's registers and memory.
      const host = opts.listen ?? DEFAULT_GDB_HOST;
      const warning = listenWarning(host, 'the DAP server');
      if (warning) process.stderr.write(`${warning}\n`);
      const { createServer } = await import('node:net');
      const server = createServer((socket) => {
        void runAdapter(socket, socket, open).then(() => socket.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new SeamlabError('DAP_LISTEN', `cannot listen on ${host}:${port}: ${e.message}`, 'pick another --port (or --listen address)')));
        server.listen(port, host, () => resolve());
      });
      const addr = server.address() as net.AddressInfo;
      process.stderr.write(`seamlab dap: listening on ${host.includes(':') ? `[${host}]` : host}:${addr.port}\n`);
      await new Promise<void>((resolve) => server.on('close', resolve));
    });
}

/** Registers `debug` (and `dap`, its DAP front end); returns the `debug` command for further options. */
export function registerDebug(program: Command): Command {
  registerDap(program);
  const debug = addOneRunOptions(program
    .command('debug')
    .description('step through an entry point at source level, inside macro expansions, forwards and backwards (gdb commands: break, step, next, finish, reverse-step, watch, print, x, list, bt, info seam …)'))
    .addOption(allowCodeOption())
    .option('--batch <file>', 'run the commands in FILE without a prompt, then exit (exit status 1 when a command failed)')
    .addOption(new Option('--budget <n>', 'instruction budget').default(String(DEFAULT_BUDGET)))
    .addOption(new Option('--time-limit <ms>', 'emulation time limit').default(String(DEFAULT_TIME_LIMIT_MS)));
  return addGdbOptions(debug)
    .action(async (revision: string, opts: DebugOpts) => {
      if (opts.gdb !== undefined) {
        const [{ parsePort }, { runGdbStub }] = await Promise.all([import('../gdb/server.js'), import('./debug-gdb.js')]);
        parsePort(opts.gdb);
        if (opts.batch !== undefined) throw new SeamlabError('DEBUG_GDB_AND_BATCH', '--gdb and --batch do not go together', 'script gdb itself (gdb -batch -ex …) against --gdb, or use --batch without it');
        const d = await openDebugger(revision, opts);
        try {
          await runGdbStub(d, { ...opts, gdb: opts.gdb }, { print: (l) => console.log(l), warn: (l) => console.error(l) });
        } finally {
          d.close();
        }
        return;
      }
      let script: string | undefined;
      if (opts.batch !== undefined) {
        script = readUserFile(opts.batch, { what: '--batch file', codes: { notFound: 'DEBUG_BATCH_NOT_FOUND', notAFile: 'DEBUG_BATCH_NOT_A_FILE', tooBig: 'DEBUG_BATCH_TOO_BIG' }, maxBytes: 4 << 20, hint: 'give --batch a readable file of debugger commands, one per line' }).toString('utf8');
      }
      const { DebugRepl } = await import('../debug/repl.js');
      const d = await openDebugger(revision, opts);
      try {
        if (script === undefined && !process.stdin.isTTY) script = fs.readFileSync(0, 'utf8');
        const repl = new DebugRepl(d, (l) => console.log(l), { interactive: script === undefined });
        if (script !== undefined) {
          if (await runBatch(repl, script)) process.exitCode = 1;
        } else {
          await interactive(d, repl);
        }
      } finally {
        d.close();
      }
    });
}

/**
 * `seamlab debug [REV] --fn NAME --scenario NAME|FILE [--profile P] --gdb PORT
 * [--listen ADDR] [--elf FILE]`: opens the debugger core on the run, stopped
 * at the entry point, and serves it to gdb over the Remote Serial Protocol
 * (src/gdb). `--elf` also writes the image as an ELF with DWARF and its
 * sources (as `seamlab build --elf`) and prints the gdb command line.
 *
 * The stub listens on 127.0.0.1 only: whoever connects can read and write
 * the run's registers and memory. `--listen ADDR` chooses another address
 * and prints a warning.
 *
 * `registerDebugGdb` is the `debug` subcommand until the terminal REPL's
 * src/cli/debug.ts is merged; that file then calls `runGdbStub` for
 * `--gdb`.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { Debugger } from '../debug/debugger.js';
import { SeamlabError } from '../errors.js';
import { DEFAULT_GDB_HOST, isLoopback, parsePort, serveGdb, type GdbServer } from '../gdb/server.js';
import { resolveRevision } from '../intake/revision.js';
import type { Revision } from '../intake/types.js';
import { resolveScenario } from '../seam/scenario-file.js';
import { writeElfWithSources } from './build.js';
import { MAIN_JOB_REVISION } from './run.js';

export interface GdbStubOptions {
  /** TCP port ("0" picks a free one). */
  gdb: string;
  listen?: string;
  elf?: string;
  /** Print every packet (stderr). */
  gdbLog?: boolean;
  cwd?: string;
}

export interface GdbStubIo {
  print(line: string): void;
  warn(line: string): void;
  /** Called once the server listens (tests connect then). */
  onListening?(server: GdbServer): void;
}

/** The warning printed for `--listen` with an address other than 127.0.0.1. */
export function listenWarning(host: string): string | undefined {
  if (host === DEFAULT_GDB_HOST) return undefined;
  const who = isLoopback(host) ? 'other users of this machine' : 'anyone who can reach this address';
  return `warning: the gdb stub listens on ${host}: ${who} can connect and read and write the run's registers and memory`;
}

/** The entry point to debug: --fn, or the revision's only one. */
export function pickFunction(rev: Revision, fn: string | undefined): string {
  if (fn) return fn;
  if (rev.functions.length === 1) return rev.functions[0]!.name;
  throw new SeamlabError('DEBUG_NO_FUNCTION', `${rev.name} has ${rev.functions.length} entry points`, `choose one with --fn: ${rev.functions.map((f) => f.name).join(', ')}`);
}

/** Serves an open debugger to gdb until gdb detaches, kills or hangs up. */
export async function runGdbStub(dbg: Debugger, opts: GdbStubOptions, io: GdbStubIo): Promise<'detach' | 'kill' | 'closed'> {
  const port = parsePort(opts.gdb);
  const host = opts.listen ?? DEFAULT_GDB_HOST;
  const warning = listenWarning(host);
  if (warning) io.warn(warning);
  let elf: string | undefined;
  if (opts.elf) {
    elf = path.resolve(opts.cwd ?? process.cwd(), opts.elf);
    writeElfWithSources(elf, dbg.image, dbg.revision);
  }
  const server = await serveGdb(dbg, { port, host, ...(opts.gdbLog ? { log: (d, t) => io.warn(`gdb ${d === 'recv' ? '<-' : '->'} ${t}`) } : {}) });
  const where = `${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  io.print(`${dbg.fn.name} (${dbg.revision.name}, scenario ${dbg.scenario.name}) stopped at its entry; gdb stub listening on ${where}`);
  io.print(elf ? `connect with: gdb ${elf} -ex 'target remote ${where}'` : `connect with: gdb -ex 'target remote ${where}' (seamlab build --elf FILE gives gdb the symbols and source lines)`);
  io.onListening?.(server);
  const how = await server.done;
  io.print(how === 'detach' ? 'gdb detached' : how === 'kill' ? 'gdb killed the run' : 'gdb disconnected');
  return how;
}

export interface DebugGdbCliOptions extends Partial<GdbStubOptions> {
  fn?: string;
  scenario: string;
  profile: string;
}

/** `seamlab debug … --gdb PORT`: resolve, open, serve, close. */
export async function runDebugGdb(revSpec: string, opts: DebugGdbCliOptions, io: GdbStubIo): Promise<void> {
  if (opts.gdb === undefined) {
    throw new SeamlabError('DEBUG_NO_FRONT_END', 'this build of seamlab debug serves gdb only', 'add --gdb PORT and connect with gdb (see README "Debugging with gdb")');
  }
  const port = opts.gdb;
  const revision = resolveRevision(revSpec, { cwd: opts.cwd });
  const scenario = await resolveScenario(opts.scenario);
  const dbg = await Debugger.open({ revision, fn: pickFunction(revision, opts.fn), scenario, profile: opts.profile });
  try {
    await runGdbStub(dbg, { ...opts, gdb: port }, io);
  } finally {
    dbg.close();
  }
}

export function registerDebugGdb(program: Command): void {
  program
    .command('debug')
    .description('debug an entry point instruction by instruction from gdb (--gdb PORT), forwards and backwards')
    .argument('[revision]', 'built-in name, tree path, or BASE+PATCH…', MAIN_JOB_REVISION)
    .option('--fn <name>', 'the entry point (default: the only one)')
    .option('--scenario <name|file>', 'built-in scenario name or a .yaml/.json/.ts scenario file', 'success')
    .option('--profile <name>', 'kconfig profile', 'default')
    .option('--gdb <port>', 'serve the GDB remote protocol on this TCP port (0: a free one)')
    .option('--listen <addr>', `address for --gdb (default ${DEFAULT_GDB_HOST}; another one prints a warning)`)
    .option('--elf <file>', 'also write the image as an ELF with DWARF line info for gdb (sources in FILE.src/)')
    .option('--gdb-log', 'print every gdb packet on stderr')
    .action(async (rev: string, opts: DebugGdbCliOptions) => {
      await runDebugGdb(rev, opts, { print: (l) => console.log(l), warn: (l) => console.error(l) });
    });
}

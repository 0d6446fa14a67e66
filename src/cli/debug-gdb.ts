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
 * src/cli/debug.ts adds these options to `seamlab debug` (`addGdbOptions`)
 * and hands the opened debugger to `runGdbStub` when `--gdb` is given.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Debugger } from '../debug/debugger.js';
import { DEFAULT_GDB_HOST, isLoopback, parsePort, serveGdb, type GdbServer } from '../gdb/server.js';
import { writeElfWithSources } from './build.js';

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
export function listenWarning(host: string, server = 'the gdb stub'): string | undefined {
  if (host === DEFAULT_GDB_HOST) return undefined;
  const who = isLoopback(host) ? 'other users of this machine' : 'anyone who can reach this address';
  return `warning: ${server} listens on ${host}: ${who} can connect and read and write the run's registers and memory`;
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
    await writeElfWithSources(elf, dbg.image, dbg.revision);
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

/** The `--gdb`, `--listen`, `--elf` and `--gdb-log` options of `seamlab debug` (src/cli/debug.ts). */
export function addGdbOptions(cmd: Command): Command {
  return cmd
    .option('--gdb <port>', 'serve the run to gdb over the remote protocol on this TCP port (0: a free one) instead of the prompt')
    .option('--listen <addr>', `address for --gdb (default ${DEFAULT_GDB_HOST}; another one prints a warning)`)
    .option('--elf <file>', 'with --gdb: also write the image as an ELF with DWARF line info for gdb (sources in FILE.src/)')
    .option('--gdb-log', 'with --gdb: print every packet on stderr');
}

/**
 * What the benchmark needs from the machine: statistics over repetitions,
 * the machine's description, which reference tools exist (gcc, python3 with
 * Unicorn, gdb, taskset), a C helper that runs a process and reports its
 * wall time, CPU time and peak RSS (wait4), and a busy loop on one core.
 * Every C program here is our own, compiled in the benchmark's temporary
 * directory and never kept.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { Stat } from './schema.js';

export function stat(samples: number[]): Stat {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { median, min: sorted[0]!, max: sorted[n - 1]!, samples };
}

export function machineInfo(): { cpu: string; cores: number; memoryGb: number; os: string; node: string } {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function load1(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

/** Runs a command to completion; its stdout, or undefined when it failed or is missing. */
export function tryRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return r.status === 0 ? r.stdout : undefined;
}

/** Like tryRun, but a failure is an error with the command's stderr. */
export function mustRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().slice(0, 2000)}`);
  return r.stdout;
}

export interface Tools {
  gcc: boolean;
  as: boolean;
  ld: boolean;
  gdb: boolean;
  /** gdb can run Python (the debugger rows time each command from inside gdb). */
  gdbPython: boolean;
  /** A python3 that imports unicorn (Debian python3-unicorn), or undefined. */
  python?: string;
  taskset: boolean;
}

export function findTools(): Tools {
  const has = (cmd: string, args: string[]) => tryRun(cmd, args) !== undefined;
  const gdb = has('gdb', ['-batch', '-nx', '-ex', 'show version']);
  return {
    gcc: has('gcc', ['--version']),
    as: has('as', ['--version']),
    ld: has('ld', ['--version']),
    gdb,
    gdbPython: gdb && (tryRun('gdb', ['-batch', '-nx', '-ex', 'python print(1+1)']) ?? '').trim() === '2',
    // Debian's python3-unicorn is for the system python; a python3 earlier on PATH (pyenv …) may not have it.
    python: ['python3', '/usr/bin/python3'].find((p) => has(p, ['-c', 'import unicorn'])),
    taskset: has('taskset', ['-c', '0', 'true']),
  };
}

/** What to install for a missing tool (Debian package names). */
export const INSTALL = {
  gcc: 'apt-get install gcc libc6-dev',
  binutils: 'apt-get install binutils',
  gdb: 'apt-get install gdb',
  pythonUnicorn: 'apt-get install python3-unicorn',
  libunicorn: 'apt-get install libunicorn2',
} as const;

/** A C compiler run; throws with the compiler's message. */
export function compileC(dir: string, name: string, source: string, extra: string[] = []): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  mustRun('gcc', ['-O2', '-o', out, src, ...extra]);
  return out;
}

/** Wall time, CPU time and peak RSS of one process. */
export interface ProcessStat {
  wallMs: number;
  cpuMs: number;
  /** Peak resident set size, MB (null without the C helper). */
  rssMb: number | null;
  status: number;
  stdout: string;
  stderr: string;
}

// fork + exec + wait4 (Linux): the child's wall time from just before fork to its reaping, its rusage, its exit status.
const RUNSTAT_C = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  if (argc < 3) return 125;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  /* The child dies with this helper (the benchmark kills the helper to stop a process it measures). */
  if (pid == 0) { prctl(PR_SET_PDEATHSIG, SIGKILL); execvp(argv[2], argv + 2); _exit(127); }
  int status; struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 126;
  clock_gettime(CLOCK_MONOTONIC, &b);
  FILE *f = fopen(argv[1], "w");
  if (!f) return 124;
  fprintf(f, "%.3f %.3f %ld %d\\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6,
          (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
          ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(f);
  return 0;
}
`;

/** Runs processes and measures them, with the C helper when gcc is there (else wall time only). */
export class ProcessRunner {
  private readonly helper: string | undefined;
  private readonly statFile: string;

  constructor(private readonly dir: string, gcc: boolean) {
    this.helper = gcc ? compileC(dir, 'runstat', RUNSTAT_C) : undefined;
    this.statFile = join(dir, 'runstat.out');
  }

  get measuresRss(): boolean {
    return this.helper !== undefined;
  }

  run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): ProcessStat {
    const spawnOpts = { encoding: 'utf8' as const, maxBuffer: 256 << 20, cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input };
    if (!this.helper) {
      const t = performance.now();
      const r = spawnSync(cmd, args, spawnOpts);
      const wallMs = performance.now() - t;
      return { wallMs, cpuMs: NaN, rssMb: null, status: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    }
    const r = spawnSync(this.helper, [this.statFile, cmd, ...args], spawnOpts);
    if (r.status !== 0 || !existsSync(this.statFile)) throw new Error(`runstat ${cmd} failed: ${r.stderr}`);
    const [wall, cpu, rss, status] = readFileSync(this.statFile, 'utf8').trim().split(' ').map(Number) as [number, number, number, number];
    return { wallMs: wall, cpuMs: cpu, rssMb: rss / 1024, status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * For a process started elsewhere (asynchronously): the command prefix that
   * measures it into `file`, and the reader of the peak RSS once it exited.
   */
  measured(file: string): { prefix: string[]; rssMb(): number | null } {
    if (!this.helper) return { prefix: [], rssMb: () => null };
    return {
      prefix: [this.helper, file],
      rssMb: () => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim().split(' ')[2]) / 1024 : null),
    };
  }

  /** Runs and requires exit status 0. */
  ok(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): ProcessStat {
    const r = this.run(cmd, args, opts);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().slice(0, 2000)}`);
    return r;
  }
}

/** A process spinning on one core (the last one) until stopped: "the other core is busy". */
export function busyLoop(tools: Tools): { stop(): void; core: number; pinned: boolean } {
  const core = os.cpus().length - 1;
  const script = 'for(;;){}';
  const child: ChildProcess = tools.taskset
    ? spawn('taskset', ['-c', String(core), process.execPath, '-e', script], { stdio: 'ignore' })
    : spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return {
    core,
    pinned: tools.taskset,
    stop() {
      child.kill('SIGKILL');
    },
  };
}

/** `taskset -c A,B`: a command prefix that keeps a process on the last two cores, the busy loop's and its neighbour (undefined without taskset or with one core). */
export function twoCoresPrefix(tools: Tools): [string, string[]] | undefined {
  const cores = os.cpus().length;
  if (!tools.taskset || cores < 2) return undefined;
  return ['taskset', ['-c', `${cores - 2},${cores - 1}`]];
}

/**
 * A deadline for loading a scenario module on the command line. A module's
 * top-level code runs when it is imported, and an ES module's evaluation
 * cannot be interrupted from its own thread (node:vm's timeout, which
 * bounds handler calls in user-code.ts, does not apply to `import()`). So
 * a worker thread watches: if the import has not finished when the
 * deadline passes, it prints the user error, removes the module's
 * temporary directory and ends the process with exit status 2 — through
 * libc's `_exit` (koffi, which seamlab loads Unicorn with), because
 * `process.exit` in a worker ends only the worker and the main thread is
 * stuck in the module's code.
 *
 * Only the CLI asks for it (ScenarioLoadOptions.timeLimitMs): a library
 * must not end its host process.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WATCHDOG = String.raw`
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
setTimeout(() => {
  try { fs.writeSync(2, workerData.message); } catch {}
  try { fs.rmSync(workerData.dir, { recursive: true, force: true }); } catch {}
  const koffi = require(workerData.koffi);
  koffi.load('libc.so.6').func('void _exit(int)')(workerData.status);
}, workerData.ms);
`;

export interface Watchdog {
  stop(): Promise<void>;
}

/** Starts a watchdog that, after `ms`, prints `message` (a whole line), removes `dir` and exits with `status`. */
export function startLoadWatchdog(ms: number, message: string, dir: string, status: number): Watchdog {
  const koffi = createRequire(import.meta.url).resolve('koffi');
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { ms, message, dir, status, koffi } });
  // The watchdog never keeps seamlab alive on its own.
  worker.unref();
  return { stop: async () => { await worker.terminate(); } };
}

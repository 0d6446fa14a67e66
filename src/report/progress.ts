/**
 * The progress line on stderr: "seamlab: assembling arch/x86/coco/tdx/tdcall.S
 * … 2.1 s", shown only while a step has been running for more than
 * `delayMs` (0.5 s) and only when the stream is a terminal; cleared when the
 * step ends, so that it never mixes with the command's output.
 *
 * The steps are synchronous (they keep the main thread busy), so the line is
 * drawn by a small worker thread that watches the current step through
 * shared memory and writes to the terminal's file descriptor itself. Both
 * threads write under one lock, so a step's end always clears what the
 * worker drew.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import type { ProgressSink } from '../support/progress.js';

export interface ProgressDisplayOptions {
  /** The terminal's file descriptor (2 for stderr). */
  fd: number;
  /** Nothing is shown, and no thread started, unless this is true. */
  isTTY: boolean;
  /** A step shows after running this long (default 500 ms). */
  delayMs?: number;
}

export interface ProgressDisplay extends ProgressSink {
  /** Clears the line and ends the worker. */
  stop(): void;
}

const LABEL_BYTES = 1024;
// Int32 slots of the shared state.
const LOCK = 0;
const SEQ = 1; // bumped at every begin/end
const SHOWN = 2; // the worker has drawn the line
const LEN = 3; // label length in bytes (0: no step)
const SLOTS = 4;

const CLEAR = '\r\x1b[2K';

/** The worker: polls the shared state and draws the line once a step is older than the delay. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, label, fd, delayMs, clear } = workerData;
const s = new Int32Array(state);
const bytes = new Uint8Array(label);
let seenSeq = -1, since = 0;
const lock = () => { while (Atomics.compareExchange(s, 0, 0, 1) !== 0) Atomics.wait(s, 0, 1, 5); };
const unlock = () => { Atomics.store(s, 0, 0); Atomics.notify(s, 0); };
setInterval(() => {
  const seq = Atomics.load(s, 1);
  const now = Date.now();
  if (seq !== seenSeq) { seenSeq = seq; since = now; }
  const len = Atomics.load(s, 3);
  if (len === 0 || now - since < delayMs) return;
  lock();
  try {
    if (Atomics.load(s, 1) !== seq || Atomics.load(s, 3) === 0) return;
    const text = Buffer.from(bytes.subarray(0, Atomics.load(s, 3))).toString('utf8');
    const secs = ((now - since) / 1000).toFixed(1);
    try { writeSync(fd, clear + 'seamlab: ' + text + ' … ' + secs + ' s'); } catch {}
    Atomics.store(s, 2, 1);
  } finally { unlock(); }
}, 100);
`;

const NO_DISPLAY: ProgressDisplay = { begin() {}, end() {}, stop() {} };

export function startProgress(opts: ProgressDisplayOptions): ProgressDisplay {
  if (!opts.isTTY) return NO_DISPLAY;
  const state = new SharedArrayBuffer(SLOTS * 4);
  const label = new SharedArrayBuffer(LABEL_BYTES);
  const s = new Int32Array(state);
  const bytes = new Uint8Array(label);
  // Started at the first step, so that commands without one (--version, --help) start no thread.
  let worker: Worker | undefined;
  const startWorker = () => {
    // Loaded here, not at start-up: most commands never show progress (src/cli/main.ts).
    const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { state, label, fd: opts.fd, delayMs: opts.delayMs ?? 500, clear: CLEAR } });
    // The display must never keep the process alive, nor fail the command.
    worker.unref();
    worker.on('error', () => {});
  };
  const stack: string[] = [];
  const lock = () => {
    while (Atomics.compareExchange(s, LOCK, 0, 1) !== 0) Atomics.wait(s, LOCK, 1, 5);
  };
  const unlock = () => {
    Atomics.store(s, LOCK, 0);
    Atomics.notify(s, LOCK);
  };
  /** Makes `text` the current step (or none), clearing what the worker drew for the previous one. */
  const show = (text: string | undefined) => {
    lock();
    try {
      if (Atomics.load(s, SHOWN)) {
        try {
          writeSync(opts.fd, CLEAR);
        } catch {
          // a closed terminal: nothing to clear
        }
        Atomics.store(s, SHOWN, 0);
      }
      const encoded = Buffer.from(text ?? '', 'utf8').subarray(0, LABEL_BYTES);
      bytes.set(encoded);
      Atomics.store(s, LEN, encoded.length);
      Atomics.add(s, SEQ, 1);
    } finally {
      unlock();
    }
  };
  return {
    begin(l) {
      if (!worker) startWorker();
      stack.push(l);
      show(l);
    },
    end() {
      stack.pop();
      // The enclosing step carries on: it counts from now, so a short inner step does not make it flash.
      show(stack[stack.length - 1]);
    },
    stop() {
      stack.length = 0;
      show(undefined);
      void worker?.terminate();
      worker = undefined;
    },
  };
}

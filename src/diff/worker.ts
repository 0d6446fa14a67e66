/**
 * A fuzz worker thread (bundled as dist/diff-worker.js): builds the pair's
 * batch machines from the plain-data config it is started with, then runs
 * the ranges of cases the main thread sends (src/diff/workers.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DiffEngine, type EngineConfig } from './fuzz-engine.js';
import type { FromWorker, ToWorker } from './workers.js';

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
let engine: DiffEngine | undefined;
try {
  engine = new DiffEngine((workerData as { config: EngineConfig }).config);
} catch (e) {
  send({ type: 'error', message: (e as Error).message, ...((e as Error).stack ? { stack: (e as Error).stack! } : {}) });
}
port.on('message', (m: ToWorker) => {
  if (!engine) return;
  if (m.type === 'close') {
    engine.close();
    port.close();
    return;
  }
  try {
    let reported = 0;
    const result = engine.runRange(m.first, m.count, (done) => {
      send({ type: 'progress', cases: done - reported });
      reported = done;
    });
    send({ type: 'result', result });
  } catch (e) {
    send({ type: 'error', message: (e as Error).message, ...((e as Error).stack ? { stack: (e as Error).stack! } : {}) });
  }
});

/**
 * Worker threads for a fuzz campaign (`--jobs N`): each worker builds the
 * pair's batch machines once (src/diff/worker.ts, bundled as
 * dist/diff-worker.js) and takes ranges of cases from a shared queue until
 * the campaign's range is done; the calling thread, already warm, takes
 * ranges from the same queue. Results are plain data (src/diff/fuzz-engine.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SeamlabError } from '../errors.js';
import { packageRoot } from '../support/package-root.js';
import { CHUNK, type DiffEngine, type EngineConfig, type RangeResult } from './fuzz-engine.js';

export const WORKER_FILE = 'dist/diff-worker.js';
/**
 * A campaign allocates many short-lived objects per row (generated cases,
 * answers, BigInts read from the row tables): a young generation larger
 * than V8's default (semi-spaces of 64 MB instead of 16) scavenges a fourth
 * as often. Measured with `node --max-semi-space-size=64` on the bench's
 * diff task: 131k → 147k pairs/s. V8's young generation is three
 * semi-spaces.
 */
const WORKER_YOUNG_GENERATION_MB = 3 * 64;

/** Messages between the main thread and a worker. */
export type ToWorker = { type: 'range'; first: number; count: number } | { type: 'close' };
export type FromWorker = { type: 'progress'; cases: number } | { type: 'result'; result: RangeResult } | { type: 'error'; message: string; stack?: string };

/**
 * Runs cases [first, first + count) on `jobs` threads. With `local` (an
 * engine of the same config this thread has already built and warmed, as
 * runFuzz has for shrinking), this thread is one of them and `jobs - 1`
 * workers start: the warm thread works while the others start cold.
 */
export async function runWorkers(config: EngineConfig, first: number, count: number, jobs: number, progress?: (done: number) => void, local?: DiffEngine): Promise<RangeResult[]> {
  const file = join(packageRoot(), WORKER_FILE);
  const workers = local ? jobs - 1 : jobs;
  if (workers > 0 && !existsSync(file)) throw new SeamlabError('DIFF_NO_WORKER', `${WORKER_FILE} is missing`, 'run `npm run build` in the seamlab checkout, or use --jobs 1');
  // Work in pieces of one chunk (~50 ms), handed out as threads become free: a slow one does not hold up the rest, and
  // at the end no thread waits long for another.
  const piece = CHUNK;
  const queue: { first: number; count: number }[] = [];
  for (let i = first; i < first + count; i += piece) queue.push({ first: i, count: Math.min(piece, first + count - i) });
  const results: RangeResult[] = [];
  let done = 0;
  const one = (): Promise<void> => new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData: { config }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    let failed = false;
    let inFlight = 0;
    let closing = false;
    const next = () => {
      const job = queue.shift();
      if (job) {
        inFlight++;
        w.postMessage({ type: 'range', ...job } satisfies ToWorker);
      } else if (inFlight === 0 && !closing) {
        closing = true;
        w.postMessage({ type: 'close' } satisfies ToWorker);
      }
    };
    w.on('message', (m: FromWorker) => {
      if (m.type === 'progress') {
        done += m.cases;
        progress?.(done);
      } else if (m.type === 'result') {
        results.push(m.result);
        inFlight--;
        next();
      } else {
        failed = true;
        reject(new Error(`diff worker: ${m.message}\n${m.stack ?? ''}`));
        void w.terminate();
      }
    });
    w.on('error', (e) => { failed = true; reject(e); });
    w.on('exit', (code) => {
      if (failed) return;
      if (code === 0) resolve();
      else reject(new Error(`diff worker exited with ${code}`));
    });
    // Two pieces in flight: the next one is queued in the worker when it finishes one, even while this thread is busy.
    next();
    next();
  });
  const mine = async (engine: DiffEngine): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      let reported = 0;
      results.push(engine.runRange(job.first, job.count, (d) => {
        done += d - reported;
        reported = d;
        progress?.(done);
      }));
      // Let the workers' messages in (results, progress) between pieces.
      await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all([...Array.from({ length: workers }, one), ...(local ? [mine(local)] : [])]);
  return results;
}

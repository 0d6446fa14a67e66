/**
 * A vitest matcher for golden traces, for kernel engineers' own test files
 * (`import { goldenTraceMatchers } from 'seamlab/vitest'`):
 *
 *     expect.extend(goldenTraceMatchers);
 *     expect(trace).toMatchGoldenTrace('fixtures/golden/linux-6.12/__seamcall_ret/default/success.jsonl');
 *
 * The failure message is `seamlab golden check`'s first-divergence report.
 * A missing golden fails; with `vitest -u` (or SEAMLAB_UPDATE_GOLDEN=1) a
 * missing or different golden is written instead. This module imports
 * nothing from vitest at run time: it works with the user's own vitest.
 */
// Types only (erased at run time): the augmentation below needs vitest's module in the program.
import type {} from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderDivergence } from '../report/golden-text.js';
import { compareTraces } from './compare.js';
import type { Trace } from './format.js';
import { parseTrace, serializeTrace } from './jsonl.js';

interface MatcherResult { pass: boolean; message: () => string }

/** True when the test run was asked to update snapshots (vitest -u) or goldens (SEAMLAB_UPDATE_GOLDEN=1). */
function updating(state: unknown): boolean {
  if (process.env.SEAMLAB_UPDATE_GOLDEN === '1') return true;
  const snap = (state as { snapshotState?: { snapshotUpdateState?: string } } | undefined)?.snapshotState;
  return snap?.snapshotUpdateState === 'all';
}

function write(file: string, t: Trace): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, serializeTrace(t));
  fs.renameSync(tmp, file);
}

export const goldenTraceMatchers = {
  toMatchGoldenTrace(this: unknown, received: Trace | string, goldenPath: string): MatcherResult {
    const actual = typeof received === 'string' ? parseTrace(received, '<received trace>') : received;
    if (!fs.existsSync(goldenPath)) {
      if (updating(this)) {
        write(goldenPath, actual);
        return { pass: true, message: () => `wrote ${goldenPath}` };
      }
      return { pass: false, message: () => `no golden trace at ${goldenPath}; run vitest with -u (or SEAMLAB_UPDATE_GOLDEN=1) to record it` };
    }
    const expected = parseTrace(fs.readFileSync(goldenPath, 'utf8'), goldenPath);
    const cmp = compareTraces(expected, actual);
    const pass = cmp.divergence === undefined && cmp.headerChanges.length === 0;
    if (!pass && updating(this)) {
      write(goldenPath, actual);
      return { pass: true, message: () => `rewrote ${goldenPath}` };
    }
    return {
      pass,
      message: () => pass
        ? `expected the trace to differ from ${goldenPath}, but it matches`
        : [`the trace does not match ${goldenPath}`, ...renderDivergence(expected, actual, cmp, { width: 120, color: false })].join('\n'),
    };
  },
};

declare module 'vitest' {
  interface Assertion<T> {
    /** The trace matches the golden trace file (first-divergence report on failure). */
    toMatchGoldenTrace(goldenPath: string): T;
  }
  interface AsymmetricMatchersContaining {
    toMatchGoldenTrace(goldenPath: string): unknown;
  }
}

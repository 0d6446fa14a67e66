/**
 * Naming the long steps of a command (evaluating Kconfig, preprocessing,
 * assembling) for whoever shows progress. Stages call `step(label, fn)`;
 * nothing is shown unless the CLI installed a display (src/report/progress.ts
 * does, only when stderr is a terminal). Labels are observability only:
 * results never depend on them.
 */

export interface ProgressSink {
  /** A step starts (steps nest: the innermost is what is happening). */
  begin(label: string): void;
  /** The innermost step ended. */
  end(): void;
}

let sink: ProgressSink | undefined;

/** Installs (or, with undefined, removes) the display; returns the previous one. */
export function setProgressSink(s: ProgressSink | undefined): ProgressSink | undefined {
  const previous = sink;
  sink = s;
  return previous;
}

/** Runs `fn` as a named step. */
export function step<T>(label: string, fn: () => T): T {
  const s = sink;
  if (!s) return fn();
  s.begin(label);
  try {
    return fn();
  } finally {
    s.end();
  }
}

/**
 * Progress on stderr (src/report/progress.ts): a step that runs longer than
 * the delay is shown on a terminal and cleared when it ends; a short step,
 * or any step when the stream is not a terminal, shows nothing. The
 * terminal is faked with a file and isTTY; the CLI test pipes stderr.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startProgress } from '../src/report/progress.js';
import { setProgressSink, step } from '../src/support/progress.js';
import { seamlab } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'seamlab-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keeps the main thread busy, as preprocessing and assembling do. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
}

async function withDisplay(name: string, isTTY: boolean, delayMs: number | undefined, body: () => void): Promise<string> {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  const display = startProgress({ fd, isTTY, ...(delayMs !== undefined ? { delayMs } : {}) });
  const previous = setProgressSink(display);
  try {
    body();
  } finally {
    display.stop();
    setProgressSink(previous);
  }
  await new Promise((r) => setTimeout(r, 50));
  closeSync(fd);
  return readFileSync(file, 'utf8');
}

describe('progress on a terminal', () => {
  it('shows a step that takes longer than the delay, then clears it', async () => {
    const text = await withDisplay('slow', true, 100, () => step('assembling arch/x86/coco/tdx/tdcall.S', () => busy(1500)));
    expect(text).toMatch(/^\r\x1b\[2Kseamlab: assembling arch\/x86\/coco\/tdx\/tdcall\.S … \d+\.\d s/);
    expect(text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('shows the innermost step', async () => {
    const text = await withDisplay('nested', true, 100, () => step('preprocessing x.S', () => step('evaluating Kconfig (profile default) and generating headers', () => busy(1500))));
    expect(text).toContain('seamlab: evaluating Kconfig (profile default) and generating headers …');
  });

  it('shows nothing for steps shorter than the default 0.5 s', async () => {
    const text = await withDisplay('quick', true, undefined, () => {
      step('quick one', () => busy(100));
      step('another', () => {});
    });
    expect(text).toBe('');
  });
});

describe('progress when stderr is not a terminal', () => {
  it('shows nothing, however long the step', async () => {
    expect(await withDisplay('piped', false, 0, () => step('slow but piped', () => busy(600)))).toBe('');
  });

  it('the CLI writes no progress to a piped stderr', () => {
    const r = seamlab(['build', 'linux-6.12'], { SEAMLAB_NO_DISK_CACHE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/seamlab: |\x1b\[/);
  });
});

/**
 * The README's performance section is generated from bench-results.json
 * (scripts/bench-readme.ts): here only its form is checked — markers once
 * and in order under "## Performance", tables with as many cells per row as
 * their header — and that the generator makes such a section from a
 * results document the schema accepts. Not the numbers: timings are never
 * asserted.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MISSED_TARGET_REASONS } from '../scripts/bench/explanations.js';
import { performanceSection, replacePerformanceSection, PERFORMANCE_BEGIN } from '../scripts/bench/readme-section.js';
import { formatMarkdown, formatTable, targets, withRatios } from '../scripts/bench/report.js';
import { benchResultsSchema, type BenchResults, type BenchRow } from '../scripts/bench/schema.js';

const README = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');

/** Problems with the Markdown tables in `text`: a row whose cell count differs from its header's, a header without a separator. */
function tableProblems(text: string): string[] {
  const problems: string[] = [];
  const cells = (line: string) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).length;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('|') || (i > 0 && lines[i - 1]!.startsWith('|'))) continue;
    const width = cells(lines[i]!);
    if (!/^\|(\s*:?-+:?\s*\|)+$/.test(lines[i + 1] ?? '')) problems.push(`line ${i + 1}: a table header without a separator line`);
    for (let k = i + 1; k < lines.length && lines[k]!.startsWith('|'); k++) {
      if (cells(lines[k]!) !== width) problems.push(`line ${k + 1}: ${cells(lines[k]!)} cells, the header has ${width}`);
    }
  }
  return problems;
}

const ROWS: BenchRow[] = [
  { id: 'seamcall.batch', group: 'SEAMCALL', label: 'batch', unit: 'calls/s', status: 'ok', value: { median: 500, min: 400, max: 600, samples: [400, 500, 600] }, peakRssMb: 80 },
  { id: 'seamcall.python-loop', group: 'SEAMCALL', label: 'Python | loop', unit: 'calls/s', status: 'ok', value: { median: 150, min: 150, max: 150, samples: [150] }, peakRssMb: null },
  { id: 'seamcall.limit', group: 'SEAMCALL', label: 'C limit', unit: 'calls/s', status: 'unavailable', reason: 'gcc is not installed' },
  { id: 'cli.node', group: 'CLI', label: 'node -e 0', unit: 'ms', status: 'ok', value: { median: 100, min: 90, max: 120, samples: [90, 100, 120] }, peakRssMb: 40, note: '5 runs' },
  { id: 'cli.run', group: 'CLI', label: 'seamlab run', unit: 'ms', status: 'ok', value: { median: 450, min: 400, max: 500, samples: [400, 450, 500] }, peakRssMb: 110 },
];

function sample(): BenchResults {
  const rows = withRatios(ROWS);
  return benchResultsSchema.parse({
    format: 'seamlab-bench', version: 1,
    machine: { cpu: 'Test CPU', cores: 2, memoryGb: 4, os: 'Linux', node: 'v20.0.0', loadStart: 0.1, loadEnd: 0.2 },
    repetitions: 3, elapsedSeconds: 12, rows, targets: targets(rows, 2),
  });
}

describe('README performance section', () => {
  it('sits under "## Performance", between its markers, once', () => {
    const s = performanceSection(README);
    expect(s.ok, s.ok ? '' : s.error).toBe(true);
    const heading = README.indexOf('\n## Performance\n');
    const begin = README.indexOf(PERFORMANCE_BEGIN);
    expect(heading).toBeGreaterThan(0);
    expect(begin).toBeGreaterThan(heading);
    expect(README.slice(heading + 1, begin)).not.toMatch(/\n## /);
  });

  it('is well-formed: a measured run with its machine, tables with whole rows, the targets', () => {
    const s = performanceSection(README);
    if (!s.ok) throw new Error(s.error);
    expect(s.text).toMatch(/Measured by `npm run bench` on .+, \d+ cores/);
    expect(s.text).toMatch(/\*\*Targets\*\*/);
    expect(s.text).toMatch(/\*\*SEAMCALL round trips\/s/);
    expect(tableProblems(s.text)).toEqual([]);
  });

  it('is what the generator makes of a results document the schema accepts', () => {
    const res = sample();
    const md = formatMarkdown(res, MISSED_TARGET_REASONS);
    expect(tableProblems(md)).toEqual([]);
    const replaced = replacePerformanceSection(README, md);
    const again = performanceSection(replaced);
    expect(again.ok && again.text.trim()).toBe(md.trim());
    // Rewriting is stable: the same document gives the same README.
    expect(replacePerformanceSection(replaced, md)).toBe(replaced);
    // A missed target says by how much and why; a measured one compares rows.
    expect(md).toMatch(/seamlab run \(warm\) ÷ node -e 0 \| 4\.50× \| ≤ 2×: MISSED/);
    expect(md).toMatch(/- \*\*seamlab run \(warm\) ÷ node -e 0\*\*: 4\.50×, goal ≤ 2× \(2\.3× over\)\. \S/);
    expect(md).toContain('Python \\| loop');
    expect(formatTable(res)).toContain('3.33× Python loop');
  });

  it('has a reason for every target that can be missed', () => {
    const ids = targets(ROWS, 2).map((t) => t.id);
    expect(Object.keys(MISSED_TARGET_REASONS).sort()).toEqual([...ids].sort());
  });
});

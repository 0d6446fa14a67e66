/**
 * `seamlab diff … --html FILE`: the diff report as one self-contained HTML
 * page (src/report/html/page/diff.ts draws it) — the summary matrix, each
 * difference with both sides' values and the source lines responsible side
 * by side, and the aligned traces of the chosen scenario side by side with
 * the differing steps marked. Renders the plain-data report of
 * src/diff/report.ts; differences are grouped as the text report groups them.
 */
import type { DiffReport } from '../diff/report.js';
import { grouped } from './diff-text.js';
import { renderHtmlPage } from './html/document.js';
import type { DiffPageData } from './html/model.js';

export function diffPageData(report: DiffReport): DiffPageData {
  const groups = report.pairs.map((p) => {
    const index = new Map(p.differences.map((d, i) => [d, i]));
    const of = (expected: boolean) => grouped(p.differences.filter((d) => d.expected === expected)).map((g) => g.map((d) => index.get(d)!));
    return [...of(false), ...of(true)];
  });
  return { page: 'diff', report, groups };
}

export function renderDiffHtml(report: DiffReport): string {
  return renderHtmlPage({ kind: 'diff', title: `${report.a} ↔ ${report.b} — seamlab diff`, data: diffPageData(report) });
}

/**
 * `seamlab diff` as text: per pair, what each side's ABI carries, the
 * scenario class × observation matrix, then each difference once (the
 * unexpected ones first) with both values, the source lines responsible on
 * each side and how to reproduce it; the aligned traces when asked.
 * Renders the plain-data report of src/diff/report.ts.
 */
import type { AlignStep, Alignment, DiffReport, Difference, PairReport, SideInfo, SideValue } from '../diff/report.js';

const MARK: Record<string, string> = { same: '=', different: '≠', expected: '~', 'not-run': '·' };

function regList(regs: readonly string[]): string {
  return regs.length ? regs.map((r) => r.toUpperCase()).join(' ') : 'none';
}

function sideLines(tag: string, s: SideInfo): string[] {
  return [
    `  ${tag} ${s.label}  ${s.prototype}  [${s.sourceFile}]`,
    `      inputs reaching the SEAM side: ${regList(s.delivers)}; not passable: ${regList(s.notPassable)}`,
    `      struct fields the caller gets back: ${regList(s.returns)}; cleared after the call: ${regList(s.clears)}`,
  ];
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function matrixLines(p: PairReport): string[] {
  if (p.classes.length === 0) return ['  (no scenario ran)'];
  const w = Math.max(16, ...p.classes.map((c) => c.length)) + 2;
  const out = [`  ${pad('class', w)}${p.groups.map((g) => pad(g, g.length + 2)).join('')}`];
  for (const c of p.classes) {
    const row = p.groups.map((g) => {
      const cell = p.matrix.find((m) => m.class === c && m.group === g);
      return pad(MARK[cell?.state ?? 'not-run']!, g.length + 2);
    });
    out.push(`  ${pad(c, w)}${row.join('')}`.trimEnd());
  }
  out.push('  = same   ≠ different   ~ different, as expected   · not run');
  return out;
}

function valueLines(tag: string, label: string, v: SideValue, width: number): string[] {
  const out = [`      ${tag} ${pad(label, width)}  ${v.value}`];
  if (v.note) out.push(`          ${v.note}`);
  for (const e of v.evidence) {
    const macro = e.macros.length ? `   (in ${e.macros.join(', in ')})` : '';
    out.push(`          ${e.file}:${e.line}: ${e.text}${macro}`);
  }
  return out;
}

/**
 * One difference, or the same difference (observation, both value classes)
 * seen in several classes: shown once, with the classes listed and the
 * first one's values and source lines.
 */
function differenceLines(p: PairReport, group: Difference[]): string[] {
  const d = group[0]!;
  const w = Math.max(p.a.label.length, p.b.label.length);
  const call = d.group === 'seam.in' ? ` (SEAM call #${d.call ?? 0})` : '';
  const seen = group.reduce((n, x) => n + x.occurrences, 0);
  const out = [`  [${group.map((x) => x.class).join(', ')}] ${d.observation}${call}${seen > group.length ? `  — seen ${seen}×` : ''}`];
  out.push(...valueLines('A', p.a.label, d.a, w), ...valueLines('B', p.b.label, d.b, w));
  if (d.expected) out.push(`      expected: ${d.reason} (${d.rule})`);
  const ex = d.example;
  if (ex.source === 'scenario') out.push(`      reproduce: --scenario ${ex.scenario}`);
  else {
    out.push(`      found by fuzz case ${ex.case} (${ex.variant}); shrunk counterexample${ex.confirmed === false ? ' (NOT reproduced in single mode)' : ''}:`);
    for (const l of (ex.yaml ?? '').trimEnd().split('\n')) out.push(`        ${l}`);
  }
  return out;
}

/** Differences with the same observation and value classes on both sides, together (in first-seen order). */
function grouped(ds: Difference[]): Difference[][] {
  const groups = new Map<string, Difference[]>();
  for (const d of ds) {
    const k = `${d.observation}\u0000${d.call ?? 0}\u0000${d.a.class}\u0000${d.b.class}\u0000${d.reason ?? ''}\u0000${d.example.source}`;
    const g = groups.get(k);
    if (g) g.push(d);
    else groups.set(k, [d]);
  }
  return [...groups.values()];
}

function stepText(s: AlignStep | undefined, width: number): string {
  if (!s) return pad('', width);
  const where = s.src ? `${s.src} ` : '';
  return pad(`${where}${s.asm}`, width);
}

export function alignmentLines(al: Alignment, labels: [string, string]): string[] {
  const w = Math.max(40, ...al.rows.map((r) => (r.a ? `${r.a.src ?? ''} ${r.a.asm}`.length : 0)));
  const out = [`  aligned traces of scenario ${al.scenario} (by macro, label and statement):`, `    ${pad(labels[0], w)}   ${labels[1]}`];
  for (const r of al.rows) {
    out.push(`  ${r.mark} ${stepText(r.a, w)}   ${r.b ? `${r.b.src ? `${r.b.src} ` : ''}${r.b.asm}` : ''}`.trimEnd());
    if (r.mark === '!') out.push(`      A: ${r.a!.effects || '-'}`, `      B: ${r.b!.effects || '-'}`);
  }
  out.push('  = same construct and effects   ! same construct, different effects   < only in A   > only in B');
  return out;
}

export function pairText(p: PairReport): string[] {
  const out = [`${p.a.label} ↔ ${p.b.label}`, ...sideLines('A', p.a), ...sideLines('B', p.b), ''];
  out.push(...matrixLines(p));
  const notRun = p.scenarios.filter((s) => !s.ran);
  if (notRun.length) out.push(`  not run: ${notRun.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
  const np = p.scenarios.filter((s) => s.ran && (s.notPassable.a.length || s.notPassable.b.length));
  for (const s of np) {
    out.push(`  not passable in ${s.name}: ${s.notPassable.a.length ? `A ${regList(s.notPassable.a)}` : ''}${s.notPassable.a.length && s.notPassable.b.length ? '; ' : ''}${s.notPassable.b.length ? `B ${regList(s.notPassable.b)}` : ''}`);
  }
  if (p.fuzz) {
    const f = p.fuzz;
    out.push(`  fuzz: seed ${f.seed}, cases ${f.first}–${f.first + f.cases - 1}${f.shard ? ` (shard ${f.shard.index}/${f.shard.count})` : ''} × ${f.variants.length} variants (${f.variants.join(', ')}) = ${f.pairs} pairs; ${f.failingPairs} with an unexpected difference`);
  }
  const unexpected = p.differences.filter((d) => !d.expected);
  const expected = p.differences.filter((d) => d.expected);
  out.push('');
  out.push(unexpected.length ? `  ${unexpected.length} unexpected difference${unexpected.length === 1 ? '' : 's'} (class × observation):` : '  no unexpected differences');
  for (const g of grouped(unexpected)) out.push(...differenceLines(p, g));
  if (expected.length) {
    out.push('', `  ${expected.length} expected difference${expected.length === 1 ? '' : 's'}:`);
    for (const g of grouped(expected)) out.push(...differenceLines(p, g));
  }
  if (p.alignment) out.push('', ...alignmentLines(p.alignment, [p.a.label, p.b.label]));
  return out;
}

export function diffText(r: DiffReport): string {
  const out: string[] = [];
  for (const p of r.pairs) out.push(...pairText(p), '');
  if (r.unusedRules.length) out.push(`expected-differences rules that matched nothing: ${r.unusedRules.join('; ')}`);
  out.push(`${r.pairs.length} pair${r.pairs.length === 1 ? '' : 's'}: ${r.unexpected} unexpected, ${r.expected} expected difference${r.expected === 1 ? '' : 's'}${r.expectFile ? ` (expected: ${r.expectFile})` : ''} → exit ${r.exitStatus}`);
  return out.join('\n');
}

/**
 * The diff report page (`seamlab diff … --html FILE`): per pair, what each
 * side's ABI carries, the scenario class × observation matrix (a cell with
 * differences shows only those when clicked), each difference with both
 * sides' values and the source lines responsible side by side, and the
 * aligned traces of the chosen scenario side by side, differing steps marked.
 */
import type { AlignStep, Difference, PairReport, SideInfo, SideValue } from '../../../diff/report.js';
import type { DiffPageData } from '../model.js';
import { append, h, shortPos, type Child } from './dom.js';

const data = JSON.parse(document.getElementById('seamlab-data')!.textContent) as DiffPageData;
const { report } = data;

const STATE_TEXT: Record<string, [string, string]> = {
  same: ['=', 'same'],
  different: ['≠', 'different'],
  expected: ['~', 'different, as expected'],
  'not-run': ['·', 'not run'],
};

const regs = (r: readonly string[]) => (r.length ? r.map((x) => x.toUpperCase()).join(' ') : 'none');

function sides(p: PairReport): HTMLElement {
  const row = (label: string, f: (s: SideInfo) => Child) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, f(p.a)), h('td', {}, f(p.b)));
  return h('table', { class: 'sides' },
    h('caption', { class: 'visually-hidden' }, 'The two sides'),
    h('tr', {}, h('td', {}), h('th', { scope: 'col' }, `A ${p.a.label}`), h('th', { scope: 'col' }, `B ${p.b.label}`)),
    row('Prototype', (s) => h('code', {}, s.prototype)),
    row('Source', (s) => h('code', {}, s.sourceFile)),
    row('Inputs reaching the SEAM side', (s) => regs(s.delivers)),
    row('Not passable', (s) => regs(s.notPassable)),
    row('Struct fields returned', (s) => regs(s.returns)),
    row('Cleared after the call', (s) => regs(s.clears)));
}

function valueCell(tag: string, label: string, v: SideValue): HTMLElement {
  return h('div', { class: 'side' },
    h('div', { class: 'side-label' }, `${tag} ${label}`),
    h('div', { class: 'value' }, v.value),
    v.note ? h('div', { class: 'muted' }, v.note) : null,
    v.evidence.length
      ? h('ul', { class: 'evidence', 'aria-label': `Source lines responsible on side ${tag}` }, v.evidence.map((e) => h('li', {},
        h('span', { class: 'pos', title: `${e.file}:${e.line}${e.symbol ? ` (${e.symbol}, ${e.address})` : ''}` }, `${shortPos(e.file)}:${e.line}`), ' ',
        h('code', {}, e.text),
        e.macros.length ? h('span', { class: 'muted' }, ` in ${e.macros.map((m) => m.replace(/ at (.*)$/, (_x, q: string) => ` at ${shortPos(q)}`)).join(', in ')}`) : null)))
      : null);
}

function differenceCard(p: PairReport, group: Difference[], key: string): HTMLElement {
  const d = group[0]!;
  const seen = group.reduce((n, x) => n + x.occurrences, 0);
  const call = d.group === 'seam.in' ? ` (SEAM call #${d.call ?? 0})` : '';
  const ex = d.example;
  return h('article', {
    class: `difference ${d.expected ? 'expected' : 'unexpected'}`, id: key, 'data-observation': d.observation, 'data-group': d.group,
    'data-classes': group.map((x) => x.class).join(' '), 'aria-labelledby': `${key}-h`,
  },
  h('h4', { id: `${key}-h` },
    h('span', { class: `badge ${d.expected ? 'expected' : 'unexpected'}` }, d.expected ? 'expected' : 'unexpected'), ' ',
    h('code', {}, d.observation), call, ' ', h('span', { class: 'muted' }, `in ${group.map((x) => x.class).join(', ')}`),
    seen > group.length ? h('span', { class: 'muted' }, ` — seen ${seen}×`) : null),
  h('div', { class: 'pair-values' }, valueCell('A', p.a.label, d.a), valueCell('B', p.b.label, d.b)),
  d.expected ? h('p', { class: 'reason' }, h('strong', {}, 'Expected: '), d.reason ?? '', d.rule ? h('span', { class: 'muted' }, ` (${d.rule})`) : null) : null,
  ex.source === 'scenario'
    ? h('p', { class: 'repro' }, 'Reproduce: ', h('code', {}, `--scenario ${ex.scenario}`))
    : h('details', { class: 'repro' },
      h('summary', {}, `Found by fuzz case ${ex.case} (${ex.variant}); shrunk counterexample${ex.confirmed === false ? ' (not reproduced in single mode)' : ''}`),
      h('pre', {}, ex.yaml ?? '')));
}

function matrix(p: PairReport, filter: (cls: string | undefined, group: string | undefined) => void): HTMLElement {
  return h('table', { class: 'matrix' },
    h('caption', {}, 'Scenario classes × observations (click a cell with differences to show only those)'),
    h('tr', {}, h('th', { scope: 'col' }, 'class'), p.groups.map((g) => h('th', { scope: 'col' }, g))),
    p.classes.map((c) => h('tr', {}, h('th', { scope: 'row' }, c), p.groups.map((g) => {
      const cell = p.matrix.find((m) => m.class === c && m.group === g);
      const state = cell?.state ?? 'not-run';
      const [mark, text] = STATE_TEXT[state]!;
      const label = `${c} × ${g}: ${text}${cell?.differences ? ` (${cell.differences})` : ''}`;
      return h('td', { class: `cell ${state}`, 'data-class': c, 'data-group': g },
        cell?.differences
          ? h('button', { type: 'button', 'aria-label': label, title: label, onclick: () => filter(c, g) }, mark)
          : h('span', { title: label, 'aria-label': label, role: 'img' }, mark));
    }))),
    h('tr', {}, h('td', { colspan: p.groups.length + 1, class: 'muted legend' }, '= same · ≠ different · ~ different, as expected · · not run')));
}

/** Side-by-side rows: matched steps pair up; a run of steps only in A next to a run only in B share rows, as a split diff shows them. */
function alignedRows(p: PairReport): { mark: string; a?: AlignStep; b?: AlignStep }[] {
  const out: { mark: string; a?: AlignStep; b?: AlignStep }[] = [];
  const rows = p.alignment!.rows;
  for (let i = 0; i < rows.length;) {
    if (rows[i]!.mark === '=' || rows[i]!.mark === '!') {
      out.push(rows[i++]!);
      continue;
    }
    const as: AlignStep[] = [];
    const bs: AlignStep[] = [];
    while (i < rows.length && (rows[i]!.mark === '<' || rows[i]!.mark === '>')) {
      const r = rows[i++]!;
      if (r.mark === '<') as.push(r.a!);
      else bs.push(r.b!);
    }
    for (let k = 0; k < Math.max(as.length, bs.length); k++) {
      const a = as[k];
      const b = bs[k];
      out.push({ mark: a && b ? '<>' : a ? '<' : '>', ...(a ? { a } : {}), ...(b ? { b } : {}) });
    }
  }
  return out;
}

const MARK_TEXT: Record<string, string> = { '=': 'same construct and effects', '!': 'same construct, different effects', '<': 'only in A', '>': 'only in B', '<>': 'only in A / only in B' };

function stepCell(s: AlignStep | undefined, side: 'a' | 'b', mark: string): HTMLElement {
  if (!s) return h('td', { class: `step ${side} empty` });
  const only = (side === 'a' && mark.includes('<')) || (side === 'b' && mark.includes('>'));
  return h('td', { class: `step ${side}${only ? ' only' : ''}` },
    h('span', { class: 'n' }, s.step), ' ', h('code', { class: 'asm' }, s.asm),
    s.src ? h('div', { class: 'src' }, `${shortPos(s.src)}${s.macros.length ? ` · ${s.macros.join(' › ')}` : ''}`) : null,
    mark === '!' && s.effects ? h('div', { class: 'effects' }, s.effects) : null);
}

function alignment(p: PairReport): HTMLElement {
  const rows = alignedRows(p);
  const table = h('table', { class: 'aligned' },
    h('caption', {}, `Traces of scenario ${p.alignment!.scenario}, aligned by macro, label and statement`),
    h('tr', {}, h('th', { scope: 'col', class: 'mark' }, h('span', { class: 'visually-hidden' }, 'Mark')), h('th', { scope: 'col' }, `A ${p.a.label}`), h('th', { scope: 'col' }, `B ${p.b.label}`)),
    rows.map((r) => h('tr', { class: `m${r.mark === '=' ? 'same' : r.mark === '!' ? 'changed' : r.mark === '<' ? 'a-only' : r.mark === '>' ? 'b-only' : 'both-only'}`, 'data-mark': r.mark },
      h('td', { class: 'mark', title: MARK_TEXT[r.mark] }, r.mark === '<>' ? '≠' : r.mark, h('span', { class: 'visually-hidden' }, ` ${MARK_TEXT[r.mark]}`)),
      stepCell(r.a, 'a', r.mark), stepCell(r.b, 'b', r.mark))));
  const differing = rows.filter((r) => r.mark !== '=').length;
  const toggle = h('input', { type: 'checkbox', id: 'only-diff' });
  toggle.addEventListener('change', () => table.classList.toggle('only-diff', toggle.checked));
  return h('section', { class: 'alignment', 'aria-label': 'Aligned traces' },
    h('h3', {}, `Aligned traces: ${p.alignment!.scenario} `, h('span', { class: 'muted' }, `(${differing} of ${rows.length} rows differ)`)),
    h('label', { class: 'toggle' }, toggle, ' show only the rows that differ'),
    h('div', { class: 'scroll' }, table));
}

function pairSection(p: PairReport, pi: number): HTMLElement {
  const list = h('div', { class: 'differences' });
  const status = h('p', { class: 'filter-status', role: 'status', 'aria-live': 'polite' });
  const cards: HTMLElement[] = [];
  data.groups[pi]!.forEach((g, gi) => {
    const card = differenceCard(p, g.map((i) => p.differences[i]!), `p${pi}-d${gi}`);
    cards.push(card);
    list.append(card);
  });
  const unexpected = p.differences.filter((d) => !d.expected).length;
  const expected = p.differences.length - unexpected;
  const showAll = h('button', { type: 'button', hidden: true, onclick: () => filter(undefined, undefined) }, 'Show all differences');
  function filter(cls: string | undefined, group: string | undefined): void {
    let shown = 0;
    for (const c of cards) {
      const hit = cls === undefined || (c.dataset.group === group && (c.dataset.classes ?? '').split(' ').includes(cls));
      c.hidden = !hit;
      if (hit) shown++;
    }
    showAll.hidden = cls === undefined;
    status.textContent = cls === undefined ? '' : `Showing the ${shown} difference group${shown === 1 ? '' : 's'} of ${cls} × ${group}.`;
    if (cls !== undefined) list.querySelector<HTMLElement>('.difference:not([hidden]) h4')?.scrollIntoView({ block: 'nearest' });
  }
  const notRun = p.scenarios.filter((s) => !s.ran);
  const notPassable = p.scenarios.filter((s) => s.ran && (s.notPassable.a.length || s.notPassable.b.length));
  const f = p.fuzz;
  return h('section', { class: 'pair', 'aria-labelledby': `pair${pi}-h` },
    h('h2', { id: `pair${pi}-h` }, `${p.a.label} ↔ ${p.b.label}`),
    sides(p),
    h('div', { class: 'scroll' }, matrix(p, filter)),
    notRun.length ? h('p', { class: 'muted' }, `Not run: ${notRun.map((s) => `${s.name} (${s.reason ?? ''})`).join('; ')}`) : null,
    notPassable.map((s) => h('p', { class: 'muted' }, `Not passable in ${s.name}: ${[s.notPassable.a.length ? `A ${regs(s.notPassable.a)}` : '', s.notPassable.b.length ? `B ${regs(s.notPassable.b)}` : ''].filter(Boolean).join('; ')}`)),
    f ? h('p', {}, `Fuzz: seed ${f.seed}, cases ${f.first}–${f.first + f.cases - 1}${f.shard ? ` (shard ${f.shard.index}/${f.shard.count})` : ''} × ${f.variants.length} variants (${f.variants.join(', ')}) = ${f.pairs} pairs; ${f.failingPairs} with an unexpected difference`) : null,
    h('h3', {}, unexpected ? `${unexpected} unexpected difference${unexpected === 1 ? '' : 's'}` : 'No unexpected differences', expected ? `, ${expected} expected` : ''),
    showAll, status, list,
    p.alignment ? alignment(p) : h('p', { class: 'muted' }, 'No aligned traces in this report (seamlab diff --align SCENARIO adds them).'));
}

const verdict = report.unexpected ? `${report.unexpected} unexpected difference${report.unexpected === 1 ? '' : 's'}` : 'no unexpected differences';
append(document.body, [
  h('header', { class: 'top' },
    h('h1', {}, `${report.a} ↔ ${report.b}`),
    h('span', { class: report.unexpected ? 'fail' : 'pass', id: 'verdict' }, verdict),
    h('span', { class: 'meta' }, `${report.expected} expected${report.expectFile ? ` (${report.expectFile})` : ''} · ${report.pairs.length} pair${report.pairs.length === 1 ? '' : 's'} · exit ${report.exitStatus}`)),
  report.pairs.length > 1 ? h('nav', { class: 'toc', 'aria-label': 'Pairs' }, h('ul', {}, report.pairs.map((p, i) => h('li', {}, h('a', { href: `#pair${i}-h` }, `${p.a.label} ↔ ${p.b.label}`))))) : null,
  h('main', { class: 'diff' },
    report.pairs.map(pairSection),
    report.unusedRules.length ? h('p', { class: 'muted' }, `Expected-differences rules that matched nothing: ${report.unusedRules.join('; ')}`) : null)]);

/**
 * From measured rows to what is printed: the ratios between rows (`versus`),
 * the targets of issue [K] as ratios measured in the same run, the one table
 * `npm run bench` prints, and the Markdown of the README's performance
 * section (scripts/bench-readme.ts).
 */
import { higherIsBetter, type BenchResults, type BenchRow, type BenchTarget, type Stat, type Unit } from './schema.js';

/** Rows compared with others (this ÷ that), and the short names the comparisons print. */
const VERSUS: Record<string, string[]> = {
  'seamcall.batch': ['seamcall.python-loop', 'seamcall.python-percall', 'seamcall.native', 'seamcall.limit'],
  'seamcall.batch-busy': ['seamcall.batch'],
  'seamcall.python-loop-busy': ['seamcall.python-loop'],
  'trace.recorder': ['trace.python', 'trace.limit'],
  'trace.recorder-js': ['trace.python', 'trace.limit'],
  'diff.self.jobs': ['diff.self.jobs1'],
  'diff.abi.jobs': ['diff.abi.jobs1'],
  'cli.version': ['cli.node'],
  'cli.help': ['cli.node'],
  'cli.run': ['cli.node'],
  'cli.run-nocache': ['cli.node'],
  'cli.build': ['gnu.build'],
  'cli.build-nocache': ['gnu.build'],
  'cli.cpp': ['gnu.cpp'],
  'cli.cpp-nocache': ['gnu.cpp'],
  'inproc.rebuild': ['gnu.build'],
  'inproc.preprocess': ['gnu.cpp-all'],
};

const SHORT: Record<string, string> = {
  'seamcall.python-loop': 'Python loop',
  'seamcall.python-percall': 'Python per call',
  'seamcall.native': 'native',
  'seamcall.limit': 'C + Unicorn',
  'seamcall.batch': 'quiet',
  'trace.python': 'Python',
  'trace.limit': 'C + Unicorn',
  'cli.node': 'node -e 0',
  'diff.self.jobs1': '1 job',
  'diff.abi.jobs1': '1 job',
  'gnu.build': 'GNU',
  'gnu.cpp': 'gcc -E',
  'gnu.cpp-all': 'gcc -E',
};

/** Fills each row's `versus` from the medians of the rows it is compared with. */
export function withRatios(rows: BenchRow[]): BenchRow[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return rows.map((r) => {
    const others = VERSUS[r.id];
    if (!others || !r.value) return r;
    const versus = others.flatMap((o) => {
      const v = byId.get(o)?.value;
      return v && v.median > 0 ? [{ row: o, ratio: r.value!.median / v.median }] : [];
    });
    return versus.length ? { ...r, versus } : r;
  });
}

function median(rows: Map<string, BenchRow>, id: string): number | undefined {
  return rows.get(id)?.value?.median;
}

/** The targets of issue [K], measured. */
export function targets(rows: BenchRow[], cores: number): BenchTarget[] {
  const m = new Map(rows.map((r) => [r.id, r]));
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? null : a / b);
  const bestPython = Math.max(median(m, 'seamcall.python-loop') ?? -Infinity, median(m, 'seamcall.python-percall') ?? -Infinity);
  const node = median(m, 'cli.node');
  const firstRun = median(m, 'cli.run-nocache');
  const seconds = (ms: number | undefined) => (ms === undefined ? null : ms / 1000);
  const list: Omit<BenchTarget, 'met'>[] = [
    { id: 'batch-vs-python', description: 'batch ÷ the best Python + Unicorn harness', ratio: ratio(median(m, 'seamcall.batch'), Number.isFinite(bestPython) ? bestPython : undefined), comparison: '>=', target: 5 },
    { id: 'batch-vs-limit', description: 'batch ÷ C + Unicorn (the emulator\'s limit)', ratio: ratio(median(m, 'seamcall.batch'), median(m, 'seamcall.limit')), comparison: '>=', target: 0.5 },
    { id: 'batch-busy', description: 'batch with another core busy ÷ batch', ratio: ratio(median(m, 'seamcall.batch-busy'), median(m, 'seamcall.batch')), comparison: '>=', target: 0.8 },
    { id: 'version', description: 'seamlab --version ÷ node -e 0', ratio: ratio(median(m, 'cli.version'), node), comparison: '<=', target: 1.3 },
    { id: 'help', description: 'seamlab --help ÷ node -e 0', ratio: ratio(median(m, 'cli.help'), node), comparison: '<=', target: 1.3 },
    { id: 'build', description: 'seamlab build v3 (warm) ÷ gcc -E + as + ld', ratio: ratio(median(m, 'cli.build'), median(m, 'gnu.build')), comparison: '<=', target: 1 },
    { id: 'run', description: 'seamlab run (warm) ÷ node -e 0', ratio: ratio(median(m, 'cli.run'), node), comparison: '<=', target: 2 },
    { id: 'first-run', description: 'a run without disk caches, seconds of work beyond node -e 0', ratio: firstRun === undefined || node === undefined ? null : (firstRun - node) / 1000, comparison: '<=', target: 1, unit: 's' },
    // Issue [F]'s speed targets.
    { id: 'trace-vs-python', description: 'trace recorder ÷ the Python per-instruction hook', ratio: ratio(median(m, 'trace.recorder'), median(m, 'trace.python')), comparison: '>=', target: 10 },
    { id: 'golden-inprocess', description: 'golden check of every fixture, in process', ratio: seconds(median(m, 'golden.inprocess')), comparison: '<=', target: 1, unit: 's' },
    { id: 'golden-cli', description: 'seamlab golden check, a new process', ratio: seconds(median(m, 'golden.cli')), comparison: '<=', target: 2, unit: 's' },
    // Issue [G]'s: pairs per second on one core, and --jobs (one per core) near-linear.
    { id: 'diff-pairs', description: 'differential pairs/s on one core (v3 ↔ linux-6.12)', ratio: median(m, 'diff.abi.jobs1') ?? null, comparison: '>=', target: 100_000, unit: 'pairs/s' },
    { id: 'diff-jobs', description: `--jobs ${cores} ÷ 1 job (v3 ↔ linux-6.12; near-linear: 0.8 × cores)`, ratio: ratio(median(m, 'diff.abi.jobs'), median(m, 'diff.abi.jobs1')), comparison: '>=', target: 0.8 * cores },
  ];
  return list.map((t) => ({ ...t, met: t.ratio === null ? null : t.comparison === '>=' ? t.ratio >= t.target : t.ratio <= t.target }));
}

// ---- formatting ------------------------------------------------------------------

export function formatValue(v: number, unit: Unit): string {
  if (unit === 's') return v.toFixed(2);
  if (higherIsBetter(unit)) return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US');
}

function range(s: Stat, unit: Unit): string {
  return `${formatValue(s.min, unit)} – ${formatValue(s.max, unit)}`;
}

function ratioText(x: number): string {
  return x >= 10 ? `${x.toFixed(0)}×` : x >= 0.1 ? `${x.toFixed(2)}×` : `${x.toFixed(3)}×`;
}

function versusText(r: BenchRow): string {
  return (r.versus ?? []).map((v) => `${ratioText(v.ratio)} ${SHORT[v.row] ?? v.row}`).join(', ');
}

function rssText(r: BenchRow): string {
  return r.peakRssMb === undefined || r.peakRssMb === null ? '' : `${Math.round(r.peakRssMb)} MB`;
}

function unitOf(rows: BenchRow[]): string {
  const u = rows[0]!.unit;
  return higherIsBetter(u) ? u : `${u}, lower is better`;
}

function groups(rows: BenchRow[]): Map<string, BenchRow[]> {
  const out = new Map<string, BenchRow[]>();
  for (const r of rows) out.set(r.group, [...(out.get(r.group) ?? []), r]);
  return out;
}

function machineLine(res: BenchResults): string {
  const m = res.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB; ${m.os}; Node ${m.node}${m.unicorn ? `; Unicorn ${m.unicorn}` : ''}`;
}

function targetLine(t: BenchTarget): { measured: string; verdict: string } {
  const show = (v: number) => (t.unit === 's' ? `${v.toFixed(2)} s` : t.unit === 'pairs/s' ? `${Math.round(v).toLocaleString('en-US')} pairs/s` : ratioText(v));
  const measured = t.ratio === null ? 'n/a' : show(t.ratio);
  const goal = `${t.comparison === '>=' ? '≥' : '≤'} ${t.unit === 's' ? `${t.target} s` : t.unit === 'pairs/s' ? show(t.target) : `${t.target}×`}`;
  const verdict = t.met === null ? `${goal}: not measured` : t.met ? `${goal}: met` : `${goal}: MISSED`;
  return { measured, verdict };
}

/** The table `npm run bench` prints. */
export function formatTable(res: BenchResults): string {
  const out: string[] = [];
  out.push(`seamlab benchmark — ${machineLine(res)}`);
  out.push(`load average ${res.machine.loadStart} at the start, ${res.machine.loadEnd} at the end; median of ${res.repetitions} repetitions unless a note says otherwise; ${Math.round(res.elapsedSeconds)} s in all`);
  const w = { label: 62, med: 13, range: 27, rss: 8 };
  for (const [group, rows] of groups(res.rows)) {
    out.push('');
    out.push(`${group} (${unitOf(rows)})`.padEnd(w.label + 2) + 'median'.padStart(w.med) + 'min – max'.padStart(w.range) + 'peak RSS'.padStart(w.rss + 2) + '  compared');
    for (const r of rows) {
      const label = `  ${r.label}`.padEnd(w.label + 2);
      if (r.status !== 'ok' || !r.value) {
        out.push(`${label}${'—'.padStart(w.med)}  ${r.reason ?? 'unavailable'}`);
        continue;
      }
      out.push(label + formatValue(r.value.median, r.unit).padStart(w.med) + range(r.value, r.unit).padStart(w.range) + rssText(r).padStart(w.rss + 2) + (r.versus ? `  ${versusText(r)}` : ''));
      if (r.note) out.push(`      ${r.note}`);
    }
  }
  out.push('');
  out.push('Targets (ratios measured in this run)');
  for (const t of res.targets) {
    const l = targetLine(t);
    out.push(`  ${t.description.padEnd(w.label)}${l.measured.padStart(w.med)}  ${l.verdict}`);
  }
  if (res.startup) out.push('', `start-up: ${res.startup.files} bundle files, ${Math.round(res.startup.bytes / 1024)} KB, packages: ${res.startup.packages.join(', ') || 'none'} (before a command's action runs)`);
  return out.join('\n');
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|');

/** The README's performance section (between its markers), from a results document; `why` explains missed targets. */
export function formatMarkdown(res: BenchResults, why: Record<string, string>): string {
  const out: string[] = [];
  out.push(`Measured by \`npm run bench\` on ${machineLine(res)} (load average ${res.machine.loadStart} at the start, ${res.machine.loadEnd} at the end;`);
  out.push(`${Math.round(res.elapsedSeconds)} s). Each figure is the median of ${res.repetitions} repetitions unless noted, with min – max; peak RSS is the measured process's.`);
  for (const [group, rows] of groups(res.rows)) {
    out.push('', `**${mdCell(group)}** (${unitOf(rows)})`, '', '| | median | min – max | peak RSS | compared |', '|---|--:|--:|--:|---|');
    for (const r of rows) {
      const label = mdCell(r.label) + (r.note ? ` <sub>${mdCell(r.note)}</sub>` : '');
      if (r.status !== 'ok' || !r.value) out.push(`| ${label} | — | | | ${mdCell(r.reason ?? 'unavailable')} |`);
      else out.push(`| ${label} | ${formatValue(r.value.median, r.unit)} | ${range(r.value, r.unit)} | ${rssText(r)} | ${versusText(r)} |`);
    }
  }
  out.push('', '**Targets** (ratios from the run above)', '', '| target | measured | goal |', '|---|--:|---|');
  for (const t of res.targets) {
    const l = targetLine(t);
    out.push(`| ${mdCell(t.description)} | ${l.measured} | ${l.verdict} |`);
  }
  const missed = res.targets.filter((t) => t.met === false);
  if (missed.length) {
    out.push('', 'Where a target is missed, by how much and why:', '');
    for (const t of missed) {
      const l = targetLine(t);
      const by = t.ratio === null ? '' : t.comparison === '>=' ? ` (${(t.target / t.ratio).toFixed(1)}× short)` : ` (${(t.ratio / t.target).toFixed(1)}× over)`;
      out.push(`- **${t.description}**: ${l.measured}, goal ${l.verdict.split(':')[0]}${by}. ${why[t.id] ?? 'Not yet explained.'}`);
    }
  }
  if (res.startup) out.push('', `Start-up: \`node dist/seamlab.js\` loads ${res.startup.files} bundle files (${Math.round(res.startup.bytes / 1024)} KB; packages: ${res.startup.packages.join(', ') || 'none'}) before a command's action imports what it runs.`);
  return out.join('\n');
}

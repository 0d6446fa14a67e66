/**
 * Trace alignment by source construct (`seamlab diff --align SCENARIO`): both
 * sides' traces of one scenario (src/trace), each step keyed by the GAS
 * macros it is inside, the label it follows in its source file and its
 * statement text — not by address or step number — and aligned with a
 * longest-common-subsequence diff, so an inserted or removed instruction
 * shows as one unmatched row and the rest stays paired.
 */
import { diffArrays } from 'diff';
import type { Revision } from '../intake/types.js';
import type { Scenario } from '../seam/scenario.js';
import { recordTrace } from '../trace/record.js';
import type { TraceStep } from '../trace/format.js';
import { notApplicable } from '../run/run.js';
import type { DiffPair, DiffSide } from './pairing.js';
import type { AlignStep, Alignment } from './report.js';

const LABEL = /^\s*([.\w\\@$]+):/;

/** The label a source line follows: the nearest `name:` above it, up to the enclosing `.macro` or `SYM_FUNC_START`. */
function labelFinder(rev: Revision): (src: string | undefined) => string | undefined {
  const files = new Map<string, string[] | undefined>();
  return (src) => {
    if (!src) return undefined;
    const i = src.lastIndexOf(':');
    const file = src.slice(0, i);
    const line = Number(src.slice(i + 1));
    if (!files.has(file)) files.set(file, rev.files.readFile(file)?.split('\n'));
    const text = files.get(file);
    if (!text) return undefined;
    for (let n = line - 1; n >= 0; n--) {
      const l = text[n] ?? '';
      const m = LABEL.exec(l);
      if (m && n < line - 1 + 1) return m[1];
      if (/^\s*\.macro\b/.test(l) || /SYM_FUNC_START/.test(l)) return undefined;
    }
    return undefined;
  };
}

const macroNames = (s: TraceStep) => (s.macros ?? []).map((m) => m.split(' at ')[0]!);

function effects(s: TraceStep): string {
  const parts: string[] = [];
  const regs = Object.keys(s.regs ?? {}).filter((r) => r !== 'rip');
  if (regs.length) parts.push(`writes ${regs.join(' ')}`);
  for (const m of s.mem ?? []) if (m.op === 'w') parts.push(`stores ${m.label ?? 'memory'}`);
  if (s.seam) parts.push(`${s.seam.kind} → ${s.seam.outcome.kind}${s.seam.path !== 'resumed' ? ` (${s.seam.path})` : ''}`);
  if (s.fault) parts.push(`fault #${s.fault.vector}`);
  return parts.join('; ');
}

function alignStep(s: TraceStep, label: string | undefined): AlignStep {
  return {
    step: s.step, rip: s.rip, ...(s.src ? { src: s.src } : {}), ...(label ? { label } : {}), ...(s.stmt ? { stmt: s.stmt } : {}),
    asm: s.asm, macros: macroNames(s), effects: effects(s),
  };
}

const text = (s: AlignStep) => (s.stmt ?? s.asm).replace(/\s+/g, ' ').trim();

/** The construct a step ran: the macros it is inside, the label it follows, its statement. */
function key(s: AlignStep): string {
  return `${s.macros.join('>')}\u0000${s.label ?? ''}\u0000${text(s)}`;
}

async function steps(side: DiffSide, scenario: Scenario): Promise<AlignStep[]> {
  const t = await recordTrace({ revision: side.revision, fn: side.fn, scenario, image: side.image });
  const label = labelFinder(side.revision);
  return t.steps.map((s) => alignStep(s, label(s.src)));
}

function lcs(a: AlignStep[], b: AlignStep[], by: (s: AlignStep) => string, gap: (a: AlignStep[], b: AlignStep[]) => Alignment['rows']): Alignment['rows'] {
  const changes = diffArrays(a.map(by), b.map(by));
  const rows: Alignment['rows'] = [];
  let i = 0;
  let j = 0;
  let ga: AlignStep[] = [];
  let gb: AlignStep[] = [];
  const flush = () => {
    if (ga.length || gb.length) rows.push(...gap(ga, gb));
    ga = [];
    gb = [];
  };
  for (const c of changes) {
    for (let k = 0; k < (c.count ?? c.value.length); k++) {
      if (c.removed) ga.push(a[i++]!);
      else if (c.added) gb.push(b[j++]!);
      else {
        flush();
        const x = a[i++]!;
        const y = b[j++]!;
        rows.push({ mark: x.effects === y.effects ? '=' : '!', a: x, b: y });
      }
    }
  }
  flush();
  return rows;
}

const unmatched = (a: AlignStep[], b: AlignStep[]): Alignment['rows'] => [...a.map((x) => ({ mark: '<' as const, a: x })), ...b.map((y) => ({ mark: '>' as const, b: y }))];

/**
 * Aligns two step lists by construct (macros, label, statement); where a
 * stretch does not match (a macro reorganised, a label renamed), by
 * statement text alone inside that stretch.
 */
export function alignSteps(a: AlignStep[], b: AlignStep[]): Alignment['rows'] {
  return lcs(a, b, key, (ga, gb) => (ga.length && gb.length ? lcs(ga, gb, text, unmatched) : unmatched(ga, gb)));
}

export async function alignPair(pair: DiffPair, scenario: Scenario, _opts: object = {}): Promise<Alignment | undefined> {
  if (notApplicable(scenario, pair.a.fn) || notApplicable(scenario, pair.b.fn)) return undefined;
  return { scenario: scenario.name, rows: alignSteps(await steps(pair.a, scenario), await steps(pair.b, scenario)) };
}

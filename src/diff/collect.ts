/**
 * Collecting differences: each (class, observation, call) once, with both
 * values, the responsible source lines, how often it was seen and the first
 * scenario that showed it; expected ones marked with the rule's reason.
 */
import { matchRule, type Expectations } from './expect.js';
import { groupOf, OBSERVATION_GROUPS, type RawDifference } from './observe.js';
import type { DiffExample, Difference, SideValue } from './report.js';
import type { SideEvidence } from './single.js';
import { ALL_KINDS } from './expect.js';

export type EvidenceFn = (side: 'a' | 'b', raw: RawDifference) => SideEvidence;

export function differenceId(cls: string, kind: string, call?: number): string {
  return `${cls}/${kind}${call ? `#${call}` : ''}`;
}

export class DifferenceCollector {
  private readonly byId = new Map<string, Difference>();
  readonly usedRules = new Set<string>();

  constructor(readonly pairLabel: string, private readonly expect: Expectations | undefined) {}

  /** Whether this (class, observation) is muted by the expected-differences file. */
  isExpected(cls: string, kind: string): boolean {
    return matchRule(this.expect, { observation: kind, class: cls }, this.pairLabel) !== undefined;
  }

  has(cls: string, raw: RawDifference): boolean {
    return this.byId.has(differenceId(cls, raw.kind, raw.call));
  }

  /** Records one occurrence; the first occurrence's values, evidence and example are kept. */
  add(cls: string, raw: RawDifference, example: DiffExample, evidence?: EvidenceFn, occurrences = 1): Difference {
    const id = differenceId(cls, raw.kind, raw.call);
    const seen = this.byId.get(id);
    if (seen) {
      seen.occurrences += occurrences;
      return seen;
    }
    const rule = matchRule(this.expect, { observation: raw.kind, class: cls }, this.pairLabel);
    if (rule) this.usedRules.add(rule.at);
    const side = (s: 'a' | 'b'): SideValue => {
      const v = raw[s];
      const ev = evidence?.(s, raw);
      return { value: v.text, class: v.cls, evidence: ev?.lines ?? [], ...(ev?.note ? { note: ev.note } : {}) };
    };
    const d: Difference = {
      id, class: cls, observation: raw.kind, group: groupOf(raw.kind), ...(raw.call ? { call: raw.call } : {}),
      expected: rule !== undefined, ...(rule ? { reason: rule.reason, rule: rule.at } : {}),
      a: side('a'), b: side('b'), occurrences, example,
    };
    this.byId.set(id, d);
    return d;
  }

  /** Replaces a difference's values, evidence and example (a shrunk, confirmed counterexample explains it better). */
  replace(d: Difference): void {
    this.byId.set(d.id, d);
  }

  get(id: string): Difference | undefined {
    return this.byId.get(id);
  }

  /** Differences in report order (`differenceOrder`). */
  list(classes: readonly string[]): Difference[] {
    return [...this.byId.values()].sort(differenceOrder(classes));
  }
}

/** Report order: by class (as `classes` orders them), then observation (group order, then kind order), then call. */
export function differenceOrder(classes: readonly string[]): (x: Difference, y: Difference) => number {
  const ci = (c: string) => { const i = classes.indexOf(c); return i < 0 ? classes.length : i; };
  const ki = (k: string) => { const i = ALL_KINDS.indexOf(k); return i < 0 ? ALL_KINDS.length : i; };
  const gi = (g: string) => OBSERVATION_GROUPS.indexOf(g as (typeof OBSERVATION_GROUPS)[number]);
  return (x, y) => ci(x.class) - ci(y.class) || (x.class < y.class ? -1 : x.class > y.class ? 1 : 0)
    || gi(x.group) - gi(y.group) || ki(x.observation) - ki(y.observation) || (x.call ?? 0) - (y.call ?? 0);
}

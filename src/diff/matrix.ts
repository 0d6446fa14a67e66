/**
 * A pair prepared for comparison (what each side's ABI carries, found by a
 * probe call), and the scenario matrix: every selected scenario run on both
 * sides in single mode, observations compared, differences collected with
 * their source lines.
 */
import { GPR_NAMES, isGprName, type GprName } from '../support/registers.js';
import { notApplicable } from '../run/run.js';
import type { Scenario, ScenarioCase } from '../seam/scenario.js';
import { GUEST_ENV, HOST_ENV, type SeamKind } from '../seam/types.js';
import type { DifferenceCollector } from './collect.js';
import { compareRuns, compareSpec, SEAM_INPUT_REGS, type CompareSpec, type RawDifference } from './observe.js';
import type { DiffPair, DiffSide } from './pairing.js';
import type { ScenarioRun, SideInfo } from './report.js';
import { runSingle } from './single.js';

/** A distinct, recognisable input per register for the probe call (never a canary). */
export function probeValue(reg: GprName): bigint {
  return 0x9e0b_0000_0000_0000n | (BigInt(GPR_NAMES.indexOf(reg)) * 0x0101_0101n);
}

/** The probe: every SEAM input register given a distinct value, the SEAM side answering success with no outputs. */
export function probeScenario(kind: SeamKind): Scenario {
  const inputs: Partial<Record<GprName, bigint>> = {};
  for (const r of SEAM_INPUT_REGS) if (r !== 'rax') inputs[r] = probeValue(r);
  const c: ScenarioCase = {
    call: { leaf: kind === 'seamcall' ? 34n : 1n, inputs },
    env: { ...(kind === 'seamcall' ? HOST_ENV : GUEST_ENV) },
    handler: { script: [{ kind: 'return', rax: 0n }] },
  };
  return { name: 'probe', summary: 'every input register set, success with no outputs', source: 'seamlab diff', cases: { [kind]: c } };
}

export interface PreparedPair {
  pair: DiffPair;
  label: string;
  spec: CompareSpec;
  a: SideInfo;
  b: SideInfo;
}

function sideInfo(side: DiffSide): SideInfo {
  const probe = runSingle(side, probeScenario(side.fn.kind));
  const r = probe.result;
  const regsIn = r.seamCalls[0]?.regsIn;
  const delivers = SEAM_INPUT_REGS.filter((g) => g !== 'rax' && regsIn !== undefined && regsIn[g] === probeValue(g));
  const returns = new Set<string>();
  for (const p of side.fn.abi.params) {
    const t = p.type;
    if (t.kind === 'pointer' && t.to.kind === 'struct') for (const f of t.to.layout.fields) if (isGprName(f.name)) returns.add(f.name);
  }
  return {
    label: side.label, revision: side.spec, function: side.fn.name, prototype: side.fn.abi.prototype, sourceFile: side.fn.sourceFile, kind: side.fn.kind,
    delivers: [...delivers], returns: GPR_NAMES.filter((g) => returns.has(g)), notPassable: [...r.call.unpassable],
    clears: r.leak?.tracked ? [...new Set(r.leak.promise.zeroed.map((z) => z.register))] : [],
  };
}

export function preparePair(pair: DiffPair): PreparedPair {
  const a = sideInfo(pair.a);
  const b = sideInfo(pair.b);
  const outputs = [...new Set([...a.returns, ...b.returns])] as GprName[];
  return { pair, label: `${pair.a.label}=${pair.b.label}`, spec: compareSpec(a.delivers as GprName[], b.delivers as GprName[], outputs), a, b };
}

/** Runs each scenario on both sides (single mode) and collects the differences. */
export function runScenarioMatrix(p: PreparedPair, scenarios: readonly Scenario[], collector: DifferenceCollector, opts: { budget?: number; timeLimitMs?: number } = {}): ScenarioRun[] {
  const runs: ScenarioRun[] = [];
  for (const sc of scenarios) {
    const whyA = notApplicable(sc, p.pair.a.fn);
    const whyB = notApplicable(sc, p.pair.b.fn);
    if (whyA || whyB) {
      runs.push({ name: sc.name, class: sc.name, source: sc.source, ran: false, reason: [whyA && `${p.a.label}: ${whyA}`, whyB && `${p.b.label}: ${whyB}`].filter(Boolean).join('; '), notPassable: { a: [], b: [] } });
      continue;
    }
    const ra = runSingle(p.pair.a, sc, opts);
    const rb = runSingle(p.pair.b, sc, opts);
    const raw: RawDifference[] = [];
    compareRuns(ra.view, rb.view, ra.call, p.spec, raw);
    for (const d of raw) {
      collector.add(sc.name, d, { source: 'scenario', scenario: sc.name }, (s, x) => (s === 'a' ? ra : rb).view.evidence(x.kind, x.call ?? 0));
    }
    runs.push({ name: sc.name, class: sc.name, source: sc.source, ran: true, notPassable: { a: [...ra.result.call.unpassable], b: [...rb.result.call.unpassable] } });
  }
  return runs;
}

/**
 * The result of `seamlab diff` as plain data: the versioned JSON envelope
 * (`{ format: "seamlab-diff", version: 1, … }`, zod schema exported as
 * `DiffReportSchema`), which the text report and an HTML report render and
 * `seamlab diff-merge` combines. Deterministic: no timings, no host paths.
 *
 * Per pair: both sides (what their ABI carries), the scenario classes ×
 * observation groups matrix (same / different / expected / not run), and
 * each difference once — class × observation, both values, the source
 * lines responsible on each side, whether it is expected and why, how
 * often it was seen, and a scenario that reproduces it (a built-in
 * scenario's name, or a shrunk fuzz counterexample as a scenario file).
 */
import { z } from 'zod';
import { OBSERVATION_GROUPS } from './observe.js';

export const DIFF_FORMAT = 'seamlab-diff';
export const DIFF_VERSION = 1;

const SourceEvidenceSchema = z.strictObject({
  address: z.string(),
  symbol: z.string().optional(),
  file: z.string(),
  line: z.number().int(),
  text: z.string(),
  macros: z.array(z.string()),
});

const SideValueSchema = z.strictObject({
  /** How the value reads ("the caller's leftover R10 (0xcafe000ac0de000a)"). */
  value: z.string(),
  /** What is compared ("leftover:r10"). */
  class: z.string(),
  evidence: z.array(SourceEvidenceSchema),
  note: z.string().optional(),
});

const ExampleSchema = z.strictObject({
  source: z.enum(['scenario', 'fuzz']),
  /** The scenario that shows it: a built-in or file scenario's name, or the counterexample's. */
  scenario: z.string(),
  /** Fuzz: the case index in the campaign (seed + index reproduce it) and the variant (outcome class) it ran. */
  case: z.number().int().optional(),
  variant: z.string().optional(),
  /** Fuzz: the shrunk counterexample as a scenario file (YAML, src/seam/SCENARIOS.md). */
  yaml: z.string().optional(),
  /** Fuzz: the counterexample re-run in single mode shows the difference too (false: only the batch run did). */
  confirmed: z.boolean().optional(),
});

export const DifferenceSchema = z.strictObject({
  /** "class/observation" (+ "#call" for seam.in of a later call): unique within a pair. */
  id: z.string(),
  class: z.string(),
  observation: z.string(),
  group: z.enum(OBSERVATION_GROUPS),
  call: z.number().int().optional(),
  expected: z.boolean(),
  /** The expected-differences rule that muted it: its reason and file:line. */
  reason: z.string().optional(),
  rule: z.string().optional(),
  a: SideValueSchema,
  b: SideValueSchema,
  /** Scenario runs and fuzz pairs that showed it. */
  occurrences: z.number().int().min(1),
  example: ExampleSchema,
});

const SideInfoSchema = z.strictObject({
  label: z.string(),
  revision: z.string(),
  function: z.string(),
  prototype: z.string(),
  sourceFile: z.string(),
  kind: z.enum(['seamcall', 'tdcall']),
  /** Registers a probe call's inputs reach the SEAM side in. */
  delivers: z.array(z.string()),
  /** Registers the structs it passes have a field for. */
  returns: z.array(z.string()),
  /** Registers its ABI has no place for (an input there reaches the module as the caller's leftover). */
  notPassable: z.array(z.string()),
  /** Registers its code clears after the SEAM call. */
  clears: z.array(z.string()),
});

const MatrixCellSchema = z.strictObject({
  class: z.string(),
  group: z.enum(OBSERVATION_GROUPS),
  state: z.enum(['same', 'different', 'expected', 'not-run']),
  /** Unexpected + expected differences in the cell. */
  differences: z.number().int().min(0),
});

const ScenarioRunSchema = z.strictObject({
  name: z.string(),
  class: z.string(),
  source: z.string(),
  ran: z.boolean(),
  reason: z.string().optional(),
  /** Inputs the scenario gives that a side's ABI cannot pass. */
  notPassable: z.strictObject({ a: z.array(z.string()), b: z.array(z.string()) }),
});

const FuzzSummarySchema = z.strictObject({
  seed: z.number().int(),
  /** Generated logical calls (cases) in this report and the first one's index. */
  cases: z.number().int().min(0),
  first: z.number().int().min(0),
  /** Each case runs once per variant (outcome class): pairs = cases × variants. */
  variants: z.array(z.string()),
  pairs: z.number().int().min(0),
  /** Pairs with at least one unexpected difference. */
  failingPairs: z.number().int().min(0),
  shard: z.strictObject({ index: z.number().int().min(1), count: z.number().int().min(1) }).optional(),
});

const AlignStepSchema = z.strictObject({
  step: z.number().int(),
  rip: z.string(),
  src: z.string().optional(),
  label: z.string().optional(),
  stmt: z.string().optional(),
  asm: z.string(),
  macros: z.array(z.string()),
  /** Registers changed, memory written, SEAM call (one line). */
  effects: z.string(),
});

const AlignmentSchema = z.strictObject({
  scenario: z.string(),
  /** '=' same construct and effects, '!' same construct with different effects, '<' only on A, '>' only on B. */
  rows: z.array(z.strictObject({ mark: z.enum(['=', '!', '<', '>']), a: AlignStepSchema.optional(), b: AlignStepSchema.optional() })),
});

export const PairReportSchema = z.strictObject({
  a: SideInfoSchema,
  b: SideInfoSchema,
  /** Matrix rows (scenario classes, in run order) and columns (observation groups). */
  classes: z.array(z.string()),
  groups: z.array(z.enum(OBSERVATION_GROUPS)),
  matrix: z.array(MatrixCellSchema),
  differences: z.array(DifferenceSchema),
  scenarios: z.array(ScenarioRunSchema),
  fuzz: FuzzSummarySchema.optional(),
  alignment: AlignmentSchema.optional(),
});

export const DiffReportSchema = z.strictObject({
  format: z.literal(DIFF_FORMAT),
  version: z.literal(DIFF_VERSION),
  a: z.string(),
  b: z.string(),
  expectFile: z.string().optional(),
  /** Expected-differences rules that muted nothing (file:line and observation × class). */
  unusedRules: z.array(z.string()),
  pairs: z.array(PairReportSchema),
  unexpected: z.number().int().min(0),
  expected: z.number().int().min(0),
  /** 0: no unexpected difference; 1: unexpected differences (2, a usage error, has no report). */
  exitStatus: z.union([z.literal(0), z.literal(1)]),
});

export type SourceEvidence = z.infer<typeof SourceEvidenceSchema>;
export type SideValue = z.infer<typeof SideValueSchema>;
export type Difference = z.infer<typeof DifferenceSchema>;
export type DiffExample = z.infer<typeof ExampleSchema>;
export type SideInfo = z.infer<typeof SideInfoSchema>;
export type MatrixCell = z.infer<typeof MatrixCellSchema>;
export type ScenarioRun = z.infer<typeof ScenarioRunSchema>;
export type FuzzSummary = z.infer<typeof FuzzSummarySchema>;
export type Alignment = z.infer<typeof AlignmentSchema>;
export type AlignStep = z.infer<typeof AlignStepSchema>;
export type PairReport = z.infer<typeof PairReportSchema>;
export type DiffReport = z.infer<typeof DiffReportSchema>;

/** The JSON Schema of the envelope (generated from the zod schema, for consumers outside TypeScript). */
export function diffJsonSchema(): unknown {
  return z.toJSONSchema(DiffReportSchema, { io: 'input' });
}

/**
 * The matrix from the classes that ran and the differences: a cell is
 * 'different' with any unexpected difference, 'expected' when all its
 * differences are expected, 'same' when the class ran without one.
 */
export function buildMatrix(classes: readonly string[], ran: ReadonlySet<string>, differences: readonly Difference[]): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const c of classes) {
    for (const g of OBSERVATION_GROUPS) {
      const ds = differences.filter((d) => d.class === c && d.group === g);
      const state = !ran.has(c) ? 'not-run' : ds.some((d) => !d.expected) ? 'different' : ds.length ? 'expected' : 'same';
      cells.push({ class: c, group: g, state, differences: ds.length });
    }
  }
  return cells;
}

/** Counts and the exit status of a set of pair reports. */
export function finishReport(base: Omit<DiffReport, 'unexpected' | 'expected' | 'exitStatus'>): DiffReport {
  const all = base.pairs.flatMap((p) => p.differences);
  const unexpected = all.filter((d) => !d.expected).length;
  return { ...base, unexpected, expected: all.length - unexpected, exitStatus: unexpected ? 1 : 0 };
}

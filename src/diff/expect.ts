/**
 * The expected-differences file (`seamlab diff --expect FILE`): intended
 * behaviour changes a reviewer mutes, by observation × scenario class
 * (and optionally pair), each with the reason. YAML or JSON, validated with
 * zod; an error names the field with file:line:col.
 *
 *   expect:
 *     - observation: seam.in.r10      # an observation kind, or a list; "*" matches any characters ("output.*")
 *       class: "*"                    # a scenario class (built-in scenario name or fuzz class), or a list (default "*")
 *       pair: v3:__seamcall=linux-6.12:__seamcall_ret   # optional
 *       reason: 6.7 passes R10/R11 from struct tdx_module_args
 */
import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { SeamlabError } from '../errors.js';
import { flattenIssues, positionFinder } from '../seam/scenario-file.js';
import { CALLER_CLOBBERED, OBSERVATION_GROUPS, SEAM_INPUT_REGS, SEAM_OUTPUT_REGS } from './observe.js';

/** Every observation kind there is (what a pattern may match). */
export const ALL_KINDS: readonly string[] = [
  'end', 'return', 'seam.calls',
  ...SEAM_INPUT_REGS.map((r) => `seam.in.${r}`),
  ...SEAM_OUTPUT_REGS.map((r) => `output.${r}`),
  ...CALLER_CLOBBERED.map((r) => `after.${r}`),
  'callee-saved', 'stack', 'memory',
];

function globRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

const patternOf = (what: string, known?: readonly string[]) => z.string().min(1).refine(
  (p) => !known || known.some((k) => globRegex(p).test(k)),
  { message: `matches no ${what}` },
);

const oneOrMore = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

export const expectFileSchema = z.strictObject({
  expect: z.array(z.strictObject({
    observation: oneOrMore(patternOf(`observation (one of ${OBSERVATION_GROUPS.join(', ')}, with .<register> for seam.in, output and after)`, ALL_KINDS)),
    class: oneOrMore(patternOf('class')).optional(),
    pair: z.string().regex(/^[^=]+:[^=:]+=[^=]+:[^=:]+$/, 'write the pair as REV_A:FN_A=REV_B:FN_B').optional(),
    reason: z.string().min(1, 'say why this difference is intended'),
  })).min(1),
});

export interface ExpectRule {
  observation: string[];
  class: string[];
  pair?: string;
  reason: string;
  /** "file:line" of the rule. */
  at: string;
}

export interface Expectations {
  file: string;
  rules: ExpectRule[];
}

/** The rule that mutes a difference, if any. */
export function matchRule(e: Expectations | undefined, d: { observation: string; class: string }, pair: string): ExpectRule | undefined {
  return e?.rules.find((r) => r.observation.some((o) => globRegex(o).test(d.observation)) && r.class.some((c) => globRegex(c).test(d.class)) && (r.pair === undefined || r.pair === pair));
}

const MAX_BYTES = 1 << 20;

export function loadExpectations(file: string): Expectations {
  if (!existsSync(file)) throw new SeamlabError('DIFF_EXPECT_NOT_FOUND', `no expected-differences file ${file}`, 'give --expect a YAML or JSON file (format: src/diff/expect.ts)');
  const text = readFileSync(file, 'utf8');
  if (text.length > MAX_BYTES) throw new SeamlabError('DIFF_EXPECT_TOO_BIG', `${file} is over 1 MiB`, 'an expected-differences file is a short list of rules');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new SeamlabError('DIFF_EXPECT_SYNTAX', `${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`, 'fix the YAML/JSON syntax');
  }
  const where = positionFinder(doc, lc, file);
  const parsed = expectFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues, []);
    const first = issues[0]!;
    const field = (p: PropertyKey[]) => (p.length ? p.join('.') : '(top level)');
    throw new SeamlabError('DIFF_EXPECT_INVALID', `${where(first.path)}: ${field(first.path)}: ${first.message}`,
      'each rule is { observation, class?, pair?, reason } (see src/diff/expect.ts)',
      { notes: issues.slice(1, 6).map((i) => `${where(i.path)}: ${field(i.path)}: ${i.message}`) });
  }
  return {
    file,
    rules: parsed.data.expect.map((r, i) => ({
      observation: [r.observation].flat(), class: r.class === undefined ? ['*'] : [r.class].flat(), ...(r.pair ? { pair: r.pair } : {}), reason: r.reason,
      at: where(['expect', i]).replace(/:\d+$/, ''),
    })),
  };
}

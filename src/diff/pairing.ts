/**
 * Which entry points `seamlab diff REV_A REV_B` compares: those with the same
 * name in both revisions, or the pairs given with `--pair A:fnA=B:fnB` (e.g.
 * `v3:__seamcall=linux-6.12:__seamcall_ret`), which may differ in name and
 * in ABI. Both sides of a pair must be the same kind (SEAMCALL or TDCALL).
 */
import { SeamlabError } from '../errors.js';
import { buildImage } from '../image/build.js';
import type { Image } from '../image/types.js';
import type { EntryFunction, Revision } from '../intake/types.js';

/** One side of a pair: a revision's entry point and the image it runs in. */
export interface DiffSide {
  /** The revision as named on the command line. */
  spec: string;
  revision: Revision;
  fn: EntryFunction;
  image: Image;
  /** "v3:__seamcall". */
  label: string;
}

export interface DiffPair {
  a: DiffSide;
  b: DiffSide;
}

export interface PairRequest {
  a: { spec: string; fn: string };
  b: { spec: string; fn: string };
}

/**
 * Parses `A:fnA=B:fnB`. The revision part may itself contain ':' only
 * before the last one (the function name has none).
 */
export function parsePairOption(text: string): PairRequest {
  const eq = text.indexOf('=');
  const side = (s: string, which: string) => {
    const i = s.lastIndexOf(':');
    if (i <= 0 || i === s.length - 1) {
      throw new SeamlabError('DIFF_BAD_PAIR', `--pair ${text}: the ${which} side must be REVISION:FUNCTION, not ${JSON.stringify(s)}`, 'e.g. --pair v3:__seamcall=linux-6.12:__seamcall_ret');
    }
    return { spec: s.slice(0, i), fn: s.slice(i + 1) };
  };
  if (eq < 0) throw new SeamlabError('DIFF_BAD_PAIR', `--pair ${text} has no "="`, 'e.g. --pair v3:__seamcall=linux-6.12:__seamcall_ret');
  return { a: side(text.slice(0, eq), 'left'), b: side(text.slice(eq + 1), 'right') };
}

function sideOf(spec: string, rev: Revision, name: string, profile: string): DiffSide {
  const fn = rev.functions.find((f) => f.name === name);
  if (!fn) {
    throw new SeamlabError('DIFF_UNKNOWN_FUNCTION', `${spec} has no TDX entry point named ${name}`, 'pick one of the functions `seamlab revisions` lists',
      { notes: [`entry points of ${spec}: ${rev.functions.map((f) => f.name).join(', ') || 'none'}`] });
  }
  return { spec, revision: rev, fn, image: buildImage(rev.files, fn.sourceFile, { profile }).image, label: `${spec}:${name}` };
}

/** The pairs to compare, in a stable order (by A's function name, then as given). */
export function resolvePairs(specA: string, revA: Revision, specB: string, revB: Revision, requests: PairRequest[], profile = 'default'): DiffPair[] {
  let names: [string, string][];
  if (requests.length) {
    names = requests.map((r) => {
      if (r.a.spec !== specA || r.b.spec !== specB) {
        throw new SeamlabError('DIFF_BAD_PAIR', `--pair ${r.a.spec}:${r.a.fn}=${r.b.spec}:${r.b.fn} names revisions other than ${specA} and ${specB}`,
          `write the left side with ${specA}: and the right side with ${specB}:`);
      }
      return [r.a.fn, r.b.fn];
    });
  } else {
    const inB = new Set(revB.functions.map((f) => f.name));
    names = revA.functions.filter((f) => inB.has(f.name)).map((f) => [f.name, f.name]);
    if (names.length === 0) {
      throw new SeamlabError('DIFF_NO_PAIRS', `${specA} and ${specB} have no entry point with the same name`, 'pair them explicitly, e.g. --pair v3:__seamcall=linux-6.12:__seamcall_ret',
        { notes: [`${specA}: ${revA.functions.map((f) => f.name).join(', ')}`, `${specB}: ${revB.functions.map((f) => f.name).join(', ')}`] });
    }
    names.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  }
  return names.map(([fa, fb]) => {
    const a = sideOf(specA, revA, fa, profile);
    const b = sideOf(specB, revB, fb, profile);
    if (a.fn.kind !== b.fn.kind) {
      throw new SeamlabError('DIFF_KIND_MISMATCH', `${a.label} is a ${a.fn.kind.toUpperCase()} entry point and ${b.label} a ${b.fn.kind.toUpperCase()} one`, 'pair host entry points with host ones and guest with guest');
    }
    return { a, b };
  });
}

/**
 * Kconfig profiles: named configurations that change what the TDX assembly
 * assembles to. A profile names *features*; each feature maps to the first
 * option name the tree's Kconfig defines (6.1 says `CONFIG_SLS`, 6.12 says
 * `CONFIG_MITIGATION_SLS`), so one profile works on every tree.
 *
 * A profile is evaluated like `make allnoconfig` with the features asked
 * for: every option starts `n`, then each wanted feature is switched on
 * together with what its `depends on` needs (the visible options on the
 * way, the choice member that selects it — e.g. the frame-pointer
 * unwinder for FRAME_POINTER), and everything else follows from the tree's
 * defaults and selects (FUNCTION_ALIGNMENT, OBJTOOL …). A dependency the
 * tree cannot satisfy (an option defined in a Kconfig file seamlab's cache
 * does not hold, or a toolchain capability) does not block the feature: it
 * is forced on as a `select` would, and the unmet dependency is reported in
 * the profile's notes.
 */
import { SeamlabError } from '../../errors.js';
import { locationAt } from '../../support/source-location.js';
import { KconfigEvaluator, type UserValues } from './eval.js';
import type { KChoice, KExpr, KSymbol, KconfigTree } from './parse.js';

export type Feature = '64bit' | 'x86_64' | 'tdx-host' | 'tdx-guest' | 'frame-pointer' | 'sls' | 'rethunk' | 'ibt';

/** Option names per feature, newest spelling first. */
export const FEATURE_OPTIONS: Record<Feature, string[]> = {
  '64bit': ['64BIT'],
  x86_64: ['X86_64'],
  'tdx-host': ['INTEL_TDX_HOST'],
  'tdx-guest': ['INTEL_TDX_GUEST'],
  'frame-pointer': ['FRAME_POINTER'],
  sls: ['MITIGATION_SLS', 'SLS'],
  rethunk: ['MITIGATION_RETHUNK', 'RETHUNK'],
  ibt: ['X86_KERNEL_IBT'],
};

export interface Profile {
  name: string;
  description: string;
  features: Partial<Record<Feature, boolean>>;
}

const BASE: Partial<Record<Feature, boolean>> = { '64bit': true, x86_64: true, 'tdx-host': true, 'tdx-guest': true, 'frame-pointer': true };

export const PROFILES: readonly Profile[] = [
  { name: 'default', description: 'x86-64 with TDX host and guest support and frame pointers', features: { ...BASE } },
  { name: 'noframe', description: 'default without frame pointers (FRAME_BEGIN/FRAME_END expand to nothing)', features: { ...BASE, 'frame-pointer': false } },
  { name: 'sls', description: 'default with straight-line-speculation mitigation (RET is `ret; int3`)', features: { ...BASE, sls: true } },
  { name: 'rethunk', description: 'default with return thunks (RET is `jmp __x86_return_thunk`)', features: { ...BASE, rethunk: true } },
  { name: 'ibt', description: 'default with indirect branch tracking (`endbr64` at function entry)', features: { ...BASE, ibt: true } },
];

export function findProfile(name: string): Profile {
  const p = PROFILES.find((x) => x.name === name);
  if (!p) throw new SeamlabError('UNKNOWN_PROFILE', `no kconfig profile named ${JSON.stringify(name)}`, `use one of: ${PROFILES.map((x) => x.name).join(', ')} (seamlab profiles lists them), or pass your own .config`);
  return p;
}

export interface SolvedConfig {
  evaluator: KconfigEvaluator;
  /** Feature → option name used in this tree. */
  options: Partial<Record<Feature, string>>;
  notes: string[];
}

/** The option a feature maps to in this tree. */
export function featureOption(tree: KconfigTree, f: Feature): string | undefined {
  return FEATURE_OPTIONS[f].find((n) => tree.symbols.has(n));
}

/** Evaluates a profile on a parsed tree. */
export function solveProfile(tree: KconfigTree, profile: Profile): SolvedConfig {
  const user: UserValues = { values: new Map(), choices: new Map(), forced: new Set(), allNo: true };
  const notes: string[] = [];
  let ev = new KconfigEvaluator(tree, user);
  const refresh = (): void => {
    ev = new KconfigEvaluator(tree, user);
  };
  const options: Partial<Record<Feature, string>> = {};
  const visiting = new Set<string>();
  const selectorsOf = new Map<string, { by: KSymbol; cond?: KExpr }[]>();
  for (const sym of tree.order) {
    for (const x of sym.selects) {
      const l = selectorsOf.get(x.target) ?? [];
      l.push({ by: sym, cond: x.cond });
      selectorsOf.set(x.target, l);
    }
  }

  const want = (name: string, why: string): boolean => {
    if (ev.value(name) === 'y') return true;
    const s = tree.symbols.get(name);
    if (!s) {
      notes.push(`${why} needs CONFIG_${name}, which no Kconfig file seamlab read defines`);
      return false;
    }
    if (visiting.has(name)) return false;
    visiting.add(name);
    try {
      if (s.choice) return pickChoice(s, why);
      if (s.prompts.length > 0) {
        for (const p of s.prompts) {
          satisfy(p.cond, `CONFIG_${name}`);
          satisfy(p.deps, `CONFIG_${name}`);
        }
        user.values.set(name, 'y');
        refresh();
        if (ev.value(name) === 'y') return true;
      }
      // No usable prompt: make one of its defaults apply (`def_bool A || B`)…
      for (const d of s.defaults) {
        const saved = snapshot(user);
        const savedNotes = notes.length;
        if (satisfy(d.cond, `CONFIG_${name}`) && satisfy(d.deps, `CONFIG_${name}`) && satisfy(d.value, `CONFIG_${name}`)) {
          refresh();
          if (ev.value(name) === 'y') return true;
        }
        restore(user, saved);
        notes.length = savedNotes;
        refresh();
      }
      // … or find an option that selects it.
      for (const { by: sel, cond } of selectorsOf.get(name) ?? []) {
        if (!(sel.prompts.length > 0 || sel.choice)) continue;
        if (want(sel.name, `CONFIG_${name}`) && satisfy(cond, `CONFIG_${name}`)) {
          refresh();
          if (ev.value(name) === 'y') return true;
        }
      }
      return ev.value(name) === 'y';
    } finally {
      visiting.delete(name);
    }
  };

  const pickChoice = (s: KSymbol, why: string): boolean => {
    const c = s.choice as KChoice;
    for (const p of c.prompts) {
      satisfy(p.cond, `the choice containing CONFIG_${s.name}`);
      satisfy(p.deps, `the choice containing CONFIG_${s.name}`);
    }
    for (const p of s.prompts) {
      satisfy(p.cond, `CONFIG_${s.name}`);
      satisfy(p.deps, `CONFIG_${s.name}`);
    }
    user.choices.set(c, s);
    refresh();
    void why;
    return ev.value(s.name) === 'y';
  };

  const wantOff = (name: string): void => {
    user.values.set(name, 'n');
    user.forced.delete(name);
    const s = tree.symbols.get(name);
    if (s?.choice && user.choices.get(s.choice) === s) user.choices.delete(s.choice);
    refresh();
  };

  const satisfy = (e: KExpr | undefined, why: string): boolean => {
    if (!e || ev.tri(e) === 2) return true;
    switch (e.op) {
      case 'sym':
        return want(e.name, why);
      case 'not':
        if (e.a.op === 'sym') {
          wantOff(e.a.name);
          return ev.tri(e) === 2;
        }
        break;
      case 'and':
        return satisfy(e.a, why) && satisfy(e.b, why);
      case 'or': {
        const saved = snapshot(user);
        const savedNotes = notes.length;
        if (satisfy(e.a, why)) return true;
        // The first alternative failed: undo what it switched on and forget its notes.
        restore(user, saved);
        notes.length = savedNotes;
        refresh();
        return satisfy(e.b, why);
      }
      case '=':
      case '!=':
        if (e.a.op === 'sym' && e.b.op === 'const' && (e.b.value === 'y' || e.b.value === 'n')) {
          const on = (e.op === '=') === (e.b.value === 'y');
          if (on) return want(e.a.name, why);
          wantOff(e.a.name);
          return ev.tri(e) === 2;
        }
        break;
    }
    if (ev.tri(e) !== 2) notes.push(`${why}: cannot satisfy \`${exprText(e)}\``);
    return ev.tri(e) === 2;
  };

  const features = Object.entries(profile.features) as [Feature, boolean][];
  const optional = new Set<Feature>(['tdx-host', 'tdx-guest']);
  for (const [f] of features) {
    const opt = featureOption(tree, f);
    if (!opt && optional.has(f)) {
      // TDX host support arrived in 6.8: an older tree has nothing to switch on.
      notes.push(`${f}: this tree has no ${FEATURE_OPTIONS[f].map((n) => `CONFIG_${n}`).join('/')}; left out`);
      continue;
    }
    if (!opt) {
      throw new SeamlabError('PROFILE_FEATURE_UNKNOWN', `profile ${profile.name}: this tree has no option for "${f}" (looked for ${FEATURE_OPTIONS[f].map((n) => `CONFIG_${n}`).join(', ')})`, 'use a profile without this feature for this revision');
    }
    options[f] = opt;
  }
  const present = features.filter(([f]) => options[f] !== undefined);
  for (const [f, on] of present) if (!on) wantOff(options[f]!);
  for (const [f, on] of present) {
    if (!on) continue;
    const opt = options[f]!;
    if (!want(opt, `${f} (CONFIG_${opt})`)) {
      user.forced.add(opt);
      refresh();
      notes.push(`${f}: CONFIG_${opt} forced on although its dependencies are not all met in the Kconfig files read`);
    }
  }
  for (const [f, on] of present) {
    const opt = options[f]!;
    const v = ev.value(opt);
    if (on && v !== 'y') throw new SeamlabError('PROFILE_UNSATISFIED', `profile ${profile.name}: CONFIG_${opt} stays off`, 'report this; the tree\'s Kconfig prevents the feature');
    if (!on && v === 'y') {
      const by = tree.order.filter((s) => s.selects.some((x) => x.target === opt) && ev.value(s.name) === 'y').map((s) => `CONFIG_${s.name}`);
      throw new SeamlabError('PROFILE_CONFLICT', `profile ${profile.name}: CONFIG_${opt} cannot be turned off`, 'another option of the profile selects it', { notes: by.length ? [`selected by ${by.join(', ')}`] : [] });
    }
  }
  return { evaluator: ev, options, notes: [...new Set(notes)] };
}

function snapshot(u: UserValues): { values: Map<string, string>; choices: Map<KChoice, KSymbol>; forced: Set<string> } {
  return { values: new Map(u.values), choices: new Map(u.choices), forced: new Set(u.forced) };
}
function restore(u: UserValues, s: ReturnType<typeof snapshot>): void {
  u.values.clear();
  for (const [k, v] of s.values) u.values.set(k, v);
  u.choices.clear();
  for (const [k, v] of s.choices) u.choices.set(k, v);
  u.forced.clear();
  for (const v of s.forced) u.forced.add(v);
}

export function exprText(e: KExpr): string {
  switch (e.op) {
    case 'sym':
      return e.name;
    case 'const':
      return /^[\w.-]+$/.test(e.value) ? e.value : JSON.stringify(e.value);
    case 'not':
      return `!${e.a.op === 'sym' || e.a.op === 'const' ? exprText(e.a) : `(${exprText(e.a)})`}`;
    case 'and':
    case 'or':
      return `${exprText(e.a)} ${e.op === 'and' ? '&&' : '||'} ${exprText(e.b)}`;
    default:
      return `${exprText(e.a)} ${e.op} ${exprText(e.b)}`;
  }
}

/** Parses a user .config (`CONFIG_X=y`, `# CONFIG_X is not set`). */
export function parseDotConfig(text: string, tree: KconfigTree): { user: UserValues; notes: string[] } {
  const user: UserValues = { values: new Map(), choices: new Map(), forced: new Set(), allNo: false };
  const notes: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    let m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(l);
    let name: string;
    let value: string;
    if (m) {
      name = m[1]!;
      value = m[2]!;
      if (value.startsWith('"')) {
        try {
          value = JSON.parse(value) as string;
        } catch {
          throw new SeamlabError('CONFIG_SYNTAX', `.config line ${i + 1}: bad string value`, 'write CONFIG_X="text"', { where: { ...locationAt({ file: '.config', line: i + 1 }), text: l } });
        }
      }
    } else if ((m = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(l))) {
      name = m[1]!;
      value = 'n';
    } else if (l === '' || l.startsWith('#')) continue;
    else throw new SeamlabError('CONFIG_SYNTAX', `.config line ${i + 1} is not an option assignment`, 'lines look like CONFIG_X=y or # CONFIG_X is not set', { where: { ...locationAt({ file: '.config', line: i + 1 }), text: l } });
    const s = tree.symbols.get(name);
    if (!s) {
      notes.push(`.config sets CONFIG_${name}, which the Kconfig files read do not define`);
      continue;
    }
    user.values.set(name, value);
    if (s.choice && value === 'y') user.choices.set(s.choice, s);
  }
  return { user, notes };
}

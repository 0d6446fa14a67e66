/**
 * Computes symbol values the way scripts/kconfig does (symbol.c,
 * sym_calc_value): a visible symbol takes the user's value (limited by its
 * visibility), an invisible one its first applicable default; `select`s
 * then force it up (reverse dependencies ignore `depends on`, as Kconfig's
 * do — with an "unmet dependency" warning, recorded here). A choice gives
 * `y` to its selected member. Modules are off, so `m` counts as `y`.
 *
 * Values are computed lazily with memoisation; Kconfig forbids recursive
 * dependencies, and a cycle met here is broken by taking `n`.
 */
import type { KChoice, KExpr, KSymbol, KconfigTree } from './parse.js';

export type Tri = 0 | 1 | 2;

export interface UserValues {
  /** Values the user chose (a .config, or allnoconfig's `n` for every bool). */
  values: Map<string, string>;
  /** The member the user picked, per choice. */
  choices: Map<KChoice, KSymbol>;
  /** Symbols forced to y as if selected (profile features). */
  forced: Set<string>;
  /** When true, every bool/tristate the user did not set is `n` (allnoconfig). */
  allNo: boolean;
}

export interface SymbolResult {
  value: string;
  /** Written to autoconf.h (visible, defaulted or selected). */
  write: boolean;
}

/** Who selects / implies each symbol, per parsed tree. */
const reverseDeps = new WeakMap<KconfigTree, { selectors: Map<string, { by: KSymbol; cond?: KExpr }[]>; impliers: Map<string, { by: KSymbol; cond?: KExpr }[]> }>();

const triOf = (v: string): Tri => (v === 'y' ? 2 : v === 'm' ? 1 : 0);
const triStr = (t: Tri): string => (t === 2 ? 'y' : t === 1 ? 'm' : 'n');

export class KconfigEvaluator {
  private readonly memo = new Map<string, SymbolResult>();
  private readonly inProgress = new Set<string>();
  private readonly selectors: Map<string, { by: KSymbol; cond?: KExpr }[]>;
  private readonly impliers: Map<string, { by: KSymbol; cond?: KExpr }[]>;
  private readonly choiceMemo = new Map<KChoice, KSymbol | undefined>();
  /** Symbols whose selects override unmet direct dependencies. */
  readonly unmet: { symbol: string; dependsOn: string }[] = [];

  constructor(
    readonly tree: KconfigTree,
    private readonly user: UserValues,
  ) {
    let rev = reverseDeps.get(tree);
    if (!rev) {
      rev = { selectors: new Map(), impliers: new Map() };
      for (const s of tree.order) {
        for (const sel of s.selects) push(rev.selectors, sel.target, { by: s, cond: sel.cond });
        for (const imp of s.implies) push(rev.impliers, imp.target, { by: s, cond: imp.cond });
      }
      reverseDeps.set(tree, rev);
    }
    this.selectors = rev.selectors;
    this.impliers = rev.impliers;
  }

  symbol(name: string): KSymbol | undefined {
    return this.tree.symbols.get(name);
  }

  /** String value of a symbol ('n' for an unset bool, '' for an undefined one). */
  value(name: string): string {
    return this.calc(name).value;
  }

  tri(e: KExpr | undefined): Tri {
    if (!e) return 2;
    switch (e.op) {
      case 'sym': {
        const s = this.symbol(e.name);
        if (!s) return 0;
        if (s.type !== 'bool' && s.type !== 'tristate') return 0;
        return triOf(this.value(e.name));
      }
      case 'const':
        return triOf(e.value);
      case 'not':
        return (2 - this.tri(e.a)) as Tri;
      case 'and':
        return Math.min(this.tri(e.a), this.tri(e.b)) as Tri;
      case 'or':
        return Math.max(this.tri(e.a), this.tri(e.b)) as Tri;
      default: {
        const a = this.str(e.a);
        const b = this.str(e.b);
        const na = parseNum(a);
        const nb = parseNum(b);
        let cmp: number;
        if (na !== undefined && nb !== undefined) cmp = na < nb ? -1 : na > nb ? 1 : 0;
        else {
          if (e.op !== '=' && e.op !== '!=') return 0;
          cmp = a === b ? 0 : 1;
        }
        const r = e.op === '=' ? cmp === 0 : e.op === '!=' ? cmp !== 0 : e.op === '<' ? cmp < 0 : e.op === '>' ? cmp > 0 : e.op === '<=' ? cmp <= 0 : cmp >= 0;
        return r ? 2 : 0;
      }
    }
  }

  /** String value of an operand: a symbol's value, or the constant. */
  str(e: KExpr): string {
    if (e.op === 'const') return e.value;
    if (e.op === 'sym') {
      const s = this.symbol(e.name);
      // An undefined symbol is a constant: its name is its value (Kconfig's "constant symbols").
      if (!s) return e.name;
      return this.value(e.name);
    }
    return triStr(this.tri(e));
  }

  /** Direct dependencies: OR over the symbol's definitions. */
  dirDep(s: KSymbol): Tri {
    if (s.depsPerDefinition.length === 0) return 2;
    return Math.max(...s.depsPerDefinition.map((d) => this.tri(d))) as Tri;
  }

  visible(s: KSymbol): Tri {
    let v: Tri = 0;
    for (const p of s.prompts) v = Math.max(v, Math.min(this.tri(p.cond), this.tri(p.deps))) as Tri;
    if (s.choice) v = Math.min(v, this.choiceVisible(s.choice)) as Tri;
    return v;
  }

  choiceVisible(c: KChoice): Tri {
    let v: Tri = 0;
    for (const p of c.prompts) v = Math.max(v, Math.min(this.tri(p.cond), this.tri(p.deps))) as Tri;
    return v;
  }

  /** The member a visible choice selects. */
  choiceSelection(c: KChoice): KSymbol | undefined {
    if (this.choiceMemo.has(c)) return this.choiceMemo.get(c);
    this.choiceMemo.set(c, undefined);
    let sel: KSymbol | undefined;
    const picked = this.user.choices.get(c);
    const vis = (m: KSymbol): boolean => {
      let v: Tri = 0;
      for (const p of m.prompts) v = Math.max(v, Math.min(this.tri(p.cond), this.tri(p.deps))) as Tri;
      return v > 0;
    };
    if (picked && vis(picked)) sel = picked;
    if (!sel) {
      for (const d of c.defaults) {
        if (Math.min(this.tri(d.cond), this.tri(d.deps)) === 0) continue;
        if (d.value.op === 'sym') {
          const m = c.members.find((x) => x.name === (d.value as { name: string }).name);
          if (m && vis(m)) {
            sel = m;
            break;
          }
        }
      }
    }
    if (!sel) sel = c.members.find(vis);
    this.choiceMemo.set(c, sel);
    return sel;
  }

  private revDep(s: KSymbol): Tri {
    let r: Tri = this.user.forced.has(s.name) ? 2 : 0;
    for (const { by, cond } of this.selectors.get(s.name) ?? []) {
      if (r === 2) break;
      r = Math.max(r, Math.min(triOf(this.value(by.name)), this.tri(cond))) as Tri;
    }
    return r;
  }

  private implied(s: KSymbol): Tri {
    let r: Tri = 0;
    for (const { by, cond } of this.impliers.get(s.name) ?? []) r = Math.max(r, Math.min(triOf(this.value(by.name)), this.tri(cond))) as Tri;
    return r;
  }

  private firstDefault(s: KSymbol): { value: KExpr; vis: Tri } | undefined {
    for (const d of s.defaults) {
      const vis = Math.min(this.tri(d.cond), this.tri(d.deps)) as Tri;
      if (vis > 0) return { value: d.value, vis };
    }
    return undefined;
  }

  calc(name: string): SymbolResult {
    const done = this.memo.get(name);
    if (done) return done;
    const s = this.symbol(name);
    if (!s) return { value: '', write: false };
    if (this.inProgress.has(name)) return { value: s.type === 'bool' || s.type === 'tristate' ? 'n' : '', write: false };
    this.inProgress.add(name);
    let result: SymbolResult;
    try {
      result = s.type === 'bool' || s.type === 'tristate' || !s.type ? this.calcBool(s) : this.calcOther(s);
    } finally {
      this.inProgress.delete(name);
    }
    this.memo.set(name, result);
    return result;
  }

  private calcBool(s: KSymbol): SymbolResult {
    const visible = this.visible(s);
    let write = visible > 0;
    let v: Tri = 0;
    if (s.choice && visible === 2 && this.choiceVisible(s.choice) === 2) {
      return { value: this.choiceSelection(s.choice) === s ? 'y' : 'n', write: true };
    }
    const userVal = this.user.values.get(s.name);
    const hasUser = userVal !== undefined || this.user.allNo;
    if (visible > 0 && hasUser) {
      v = Math.min(triOf(userVal ?? 'n'), visible) as Tri;
    } else {
      const d = this.firstDefault(s);
      if (d) {
        v = Math.min(this.tri(d.value), d.vis) as Tri;
        if (v > 0) write = true;
      }
      const imp = this.implied(s);
      if (imp > 0) v = Math.max(v, Math.min(imp, this.dirDep(s))) as Tri;
    }
    const rev = this.revDep(s);
    if (rev > 0) {
      write = true;
      const dir = this.dirDep(s);
      if (dir < rev) this.unmet.push({ symbol: s.name, dependsOn: 'its direct dependencies' });
    }
    v = Math.max(v, rev) as Tri;
    // Modules are disabled: `m` builds in.
    if (v === 1) v = 2;
    return { value: triStr(v), write };
  }

  private calcOther(s: KSymbol): SymbolResult {
    const visible = this.visible(s);
    const userVal = this.user.values.get(s.name);
    if (visible > 0 && userVal !== undefined) return { value: userVal, write: true };
    const d = this.firstDefault(s);
    if (d) return { value: this.str(d.value), write: true };
    return { value: '', write: visible > 0 };
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function parseNum(s: string): number | undefined {
  if (/^-?[0-9]+$/.test(s)) return Number(s);
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s, 16);
  return undefined;
}

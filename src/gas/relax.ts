/**
 * Layout: GNU as's relaxation (write.c `relax_segment`, `relax_frag`,
 * tc-i386.c `md_estimate_size_before_relax` and its relax table), ported
 * step for step so that the fixed point is the one GNU as reaches, not just
 * "a" fixed point:
 *
 * - Every relaxable jmp/jcc starts short; one whose target is undefined, in
 *   another section, or a weak symbol is made near at once (it would carry a
 *   relocation). Global symbols in the same section are relaxed like locals
 *   (GNU as assumes a non-shared object).
 * - Each pass walks the frags in order accumulating `stretch`; a forward
 *   target not yet reached in the pass is assumed to move by the same
 *   stretch unless an alignment lies between (frag "regions").
 * - A short branch reaches target − (address of its displacement byte) in
 *   [−127, +128] (the relax table's reach).
 * - Sections are relaxed in creation order, and the whole is repeated while
 *   any frag address changed, since `.skip` amounts may depend on labels in
 *   other sections (the kernel's ALTERNATIVE macros).
 */
import { SeamlabError } from '../errors.js';
import type { Assembler } from './assembler.js';
import { evaluate, EvalError, type EvalContext } from './evaluate.js';
import type { Expr } from './expr.js';
import { type Frag, type FragTail, type GasSymbol, type Loc, type Section } from './model.js';

type BranchTail = Extract<FragTail, { kind: 'branch' }>;

/** Short form's reach from the displacement byte (md_relax_table: 127+1, −128+1). */
const FORWARD_REACH = 128;
const BACKWARD_REACH = -127;

function alignPad(address: number, alignment: number): number {
  return (alignment - (address % alignment)) % alignment;
}

function layoutContext(asm: Assembler, dot: Loc): EvalContext {
  return asm.evalContext('layout', dot);
}

/** The frag and symbol a branch target names, when it is `label ± c` or `. ± c`. */
function targetBase(asm: Assembler, e: Expr): { frag?: Frag; sym?: GasSymbol } {
  let base = e;
  if (e.op === 'bin' && (e.fn === '+' || e.fn === '-') && e.right.op === 'num') base = e.left;
  if (base.op === 'sym') {
    const s = base.ref ?? asm.symbols.get(base.name);
    if (s?.kind === 'label') return { frag: s.loc!.frag, sym: s };
    return { sym: s };
  }
  return {};
}

/** md_estimate_size_before_relax + elf_symbol_resolved_in_segment_p: can this branch stay short? */
function relaxableInSection(asm: Assembler, tail: BranchTail, section: Section): boolean {
  const { sym } = targetBase(asm, tail.target);
  if (sym && sym.kind === 'label') {
    if (sym.loc!.frag.section !== section) return false;
    if (sym.binding === 'weak') return false;
    return true;
  }
  if (sym && sym.kind === 'expr') {
    // An expression symbol: GNU as resolves it first; relaxable if it lands in this section.
    try {
      const v = evaluate(tail.target, layoutContext(asm, tail.insn.dot));
      return v.k === 'sec' && v.section === section && sym.binding !== 'weak';
    } catch {
      return false;
    }
  }
  if (!sym) {
    // `jmp .+5`, or a complex expression.
    if (tail.target.op === 'dot' || (tail.target.op === 'bin' && tail.target.left.op === 'dot')) return true;
    try {
      const v = evaluate(tail.target, layoutContext(asm, tail.insn.dot));
      return v.k === 'sec' && v.section === section;
    } catch {
      return false;
    }
  }
  return false;
}

function evalLayout(asm: Assembler, e: Expr, dot: Loc, what: string, origin: FragTail): { k: 'abs'; v: bigint } | { k: 'sec'; section: Section; off: bigint } {
  try {
    const v = evaluate(e, layoutContext(asm, dot));
    if (v.k === 'abs' || v.k === 'sec') return v;
    if (v.k === 'ext') throw new EvalError(`${what} refers to undefined symbol \`${v.sym.name}'`, 'GAS_UNDEFINED_SYMBOL');
    throw new EvalError(`${what} is not a value`);
  } catch (err) {
    if (err instanceof EvalError) {
      const o = 'origin' in origin ? origin.origin : origin.kind === 'branch' ? origin.insn.origin : undefined;
      throw new SeamlabError(err.code, err.message, 'the expression must be computable from labels in the file', { where: o ? o : undefined });
    }
    throw err;
  }
}

function branchLengths(asm: Assembler, tail: BranchTail): { short: number; near: number } {
  return { short: asm.layer.branchLength(tail.insn.parsed, 'short'), near: asm.layer.branchLength(tail.insn.parsed, 'near') };
}

/** relax_frag for one branch: growth in bytes (0 or near − short). */
function relaxBranch(asm: Assembler, frag: Frag, tail: BranchTail, stretch: number): number {
  if (tail.form === 'near') return 0;
  const len = branchLengths(asm, tail);
  const address = frag.address + frag.fix + (len.short - 1);
  const v = evalLayout(asm, tail.target, tail.insn.dot, 'branch target', { kind: 'branch', insn: tail.insn, target: tail.target, form: tail.form, fixedNear: false });
  if (v.k !== 'sec') return 0;
  let target = Number(v.off);
  const { frag: symFrag } = targetBase(asm, tail.target);
  if (stretch !== 0 && symFrag && symFrag.relaxMarker !== frag.relaxMarker && symFrag.section === frag.section) {
    if (stretch < 0 || symFrag.region === frag.region) target += stretch;
    else if (target < address) return 0;
  }
  const aim = target - address;
  const fits = aim < 0 ? aim >= BACKWARD_REACH : aim <= FORWARD_REACH;
  if (fits) return 0;
  tail.form = 'near';
  return len.near - len.short;
}

/** relax_segment for one section; true when another round over all sections is needed. */
function relaxSection(asm: Assembler, section: Section, pass: number): boolean {
  const frags = section.frags;
  let address = 0;
  let region = 0;
  for (const f of frags) {
    f.region = region;
    f.relaxMarker = 0;
    f.address = address;
    address += f.fix;
    const t = f.tail;
    switch (t.kind) {
      case 'none':
        f.varSize = 0;
        break;
      case 'align': {
        let offset = alignPad(address, t.alignment);
        if (t.max !== 0 && offset > t.max) offset = 0;
        if (t.fill !== 'nop' && offset % t.fill.length !== 0) {
          throw new SeamlabError('GAS_BAD_ALIGNMENT', `alignment padding (${offset} bytes) not a multiple of ${t.fill.length}`, 'align to a multiple of the fill pattern size', { where: t.origin });
        }
        f.varSize = offset;
        address += offset;
        region++;
        break;
      }
      case 'org':
        f.varSize = 0;
        region++;
        break;
      case 'space':
        f.varSize = 0;
        break;
      case 'branch': {
        if (!t.fixedNear && t.form === 'short' && !relaxableInSection(asm, t, section)) {
          t.form = 'near';
          t.fixedNear = true;
        }
        f.varSize = asm.layer.branchLength(t.insn.parsed, t.form);
        address += f.varSize;
        break;
      }
    }
  }
  let ret = false;
  let maxIterations = Math.max(frags.length * frags.length, frags.length);
  let stretched: boolean;
  do {
    let stretch = 0;
    stretched = false;
    for (let k = 0; k < frags.length; k++) {
      const f = frags[k]!;
      const next = frags[k + 1];
      f.relaxMarker ^= 1;
      const was = f.address;
      f.address += stretch;
      const addr = f.address;
      let growth = 0;
      const t = f.tail;
      switch (t.kind) {
        case 'none':
          break;
        case 'align': {
          let oldoff = alignPad(was + f.fix, t.alignment);
          let newoff = alignPad(addr + f.fix, t.alignment);
          if (t.max !== 0) {
            if (oldoff > t.max) oldoff = 0;
            if (newoff > t.max) newoff = 0;
          }
          growth = newoff - oldoff;
          break;
        }
        case 'org': {
          const v = evalLayout(asm, t.target, t.dot, '.org target', t);
          if (v.k === 'sec' && v.section !== section) {
            throw new SeamlabError('GAS_BAD_ORG', `.org target is in section ${v.section.name}, not ${section.name}`, 'use an offset within the current section', { where: t.origin });
          }
          const target = Number(v.k === 'abs' ? v.v : v.off);
          const after = (next ? next.address : addr + f.fix + f.varSize) + stretch;
          growth = target - after;
          if (addr + f.fix > target) {
            growth = 0;
            if (pass < 2) {
              ret = true;
              break;
            }
            throw new SeamlabError('GAS_BAD_ORG', 'attempt to move .org backwards', 'the .org target is below the current position', { where: t.origin });
          }
          break;
        }
        case 'space': {
          const v = evalLayout(asm, t.amount, t.dot, '.skip size', t);
          if (v.k !== 'abs') {
            throw new SeamlabError('GAS_NOT_CONSTANT', '.space, .nops or .fill specifies non-absolute value', 'the size must be a number or a difference of labels in one section', { where: t.origin });
          }
          let amount = Number(BigInt.asIntN(64, v.v));
          if (amount < 0) {
            if (pass < 2) {
              ret = true;
              break;
            }
            asm.warnings.push({ message: '.space, .nops or .fill with negative value, ignored', where: t.origin });
            amount = 0;
          }
          const nextAddr = next ? next.address : was + f.fix + f.varSize;
          growth = was + f.fix + amount - nextAddr;
          break;
        }
        case 'branch':
          growth = relaxBranch(asm, f, t, stretch);
          break;
      }
      if (growth) {
        f.varSize += growth;
        stretch += growth;
        stretched = true;
      }
    }
  } while (stretched && --maxIterations > 0);
  if (stretched) throw new SeamlabError('GAS_RELAX_LOOP', `layout of ${section.name} does not converge (infinite loop in relax_segment)`, 'a .org or .skip depends on its own size');
  for (const f of frags) {
    if (f.lastAddress !== f.address) {
      f.lastAddress = f.address;
      ret = true;
    }
  }
  return ret;
}

/** Relaxes all sections to GNU as's fixed point. */
export function relaxAll(asm: Assembler): void {
  for (let pass = 0; ; pass++) {
    let changed = false;
    for (const s of asm.sections) if (relaxSection(asm, s, pass)) changed = true;
    if (!changed) break;
    if (pass > 1000) throw new SeamlabError('GAS_RELAX_LOOP', 'layout does not converge', 'a .skip depends on its own size');
  }
  for (const s of asm.sections) checkSectionSize(asm, s);
}

/**
 * The output limit applies to the laid-out size too: padding (`.balign
 * 0x40000000`), a layout-sized `.skip` or an `.org` far ahead count only
 * once relaxation has sized them. A section over the limit is refused at
 * the statement whose padding took it over, before any byte is allocated
 * (and before the linker or the machine meet a section that cannot be
 * mapped).
 */
function checkSectionSize(asm: Assembler, s: Section): void {
  const limit = asm.limits.maxOutputBytes;
  if (sectionSize(s) <= limit) return;
  const culprit = s.frags.find((f) => f.address + f.fix + f.varSize > limit);
  const t = culprit?.tail;
  const where = t && t.kind !== 'none' && t.kind !== 'branch' ? t.origin : s.origin;
  const what = t?.kind === 'align' ? `alignment to ${t.alignment} bytes pads` : t?.kind === 'org' ? '.org moves' : t?.kind === 'space' ? '.skip/.fill extends' : 'the code takes';
  throw new SeamlabError('GAS_OUTPUT_LIMIT', `${what} section ${s.name} to ${sectionSize(s)} bytes, over the output limit of ${limit} bytes`,
    'check the alignment or size: seamlab assembles small kernel files only (and the image must fit the emulated address space)', where ? { where } : {});
}

/** Size of a section after relaxation. */
export function sectionSize(section: Section): number {
  const last = section.frags[section.frags.length - 1];
  return last ? last.address + last.fix + last.varSize : 0;
}

/**
 * A random generator of AT&T x86-64 instructions covering what kernel
 * assembly uses, for the encoder differential fuzz (test/encode-fuzz.test.ts).
 * Deterministic for a seed. Branch targets and symbolic operands refer to
 * labels `L_<n>` that the fuzz places before every instruction.
 */

/** mulberry32: small, fast, good enough for test generation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(private readonly r: () => number, readonly labelCount: number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  label(): string {
    return `L_${this.int(this.labelCount)}`;
  }
  /** A constant defined only at the end of the file (`.set F_<n>, v`, small values). */
  forward(): string {
    return `F_${this.int(16)}`;
  }
}

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const R8H = ['ah', 'ch', 'dh', 'bh'];
type W = 8 | 16 | 32 | 64;
const WIDTHS: readonly W[] = [8, 16, 32, 64];
const SUFFIX: Record<W, string> = { 8: 'b', 16: 'w', 32: 'l', 64: 'q' };

const CC = ['o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe', 's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle'];

/** Sign/width boundaries and a few plain values, as GNU as expressions (hex, decimal, negative). */
const BOUNDARIES: readonly bigint[] = [
  0n, 1n, 2n, -1n, 0x7fn, 0x80n, -0x80n, -0x81n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, -0x8000n, -0x8001n, 0x10000n,
  0x7fffffffn, 0x80000000n, 0xffffffffn, -0x80000000n, -0x80000001n, 0x100000000n,
  0x7fffffffffffffffn, -0x8000000000000000n, 0xffffffffffffffffn, 0x8000ff0000000000n, 0x8000ff00ffff0000n, 0xfc00n, 0x28n, 0x60n,
];
const DISP_BOUNDARIES: readonly bigint[] = [
  0n, 1n, 8n, -8n, 0x7fn, -0x7fn, 0x80n, -0x80n, 0x81n, -0x81n, 0xffn, 0x7fffffffn, -0x7fffffffn, -0x80000000n, 0x80000000n, -0x80000001n,
  0xffffffffn, 0x100n, 0x1000n, -0x1000n,
];

function numText(g: Gen, v: bigint): string {
  const style = g.int(4);
  if (style === 0 && v >= -1000000n && v <= 1000000n) return v.toString(10);
  if (v < 0n) return style === 1 ? `-${(-v).toString(10)}` : `-0x${(-v).toString(16)}`;
  return style === 2 ? `0x${v.toString(16).toUpperCase()}`.replace('0X', '0x') : `0x${v.toString(16)}`;
}

function immValue(g: Gen, w: W): bigint {
  const k = g.int(10);
  if (k < 5) return g.pick(BOUNDARIES);
  if (k < 7) return BigInt(g.int(256)) - 128n;
  const bits = w === 64 ? 64 : w;
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(g.int(65536));
  v &= (1n << BigInt(bits)) - 1n;
  return g.chance(0.3) ? BigInt.asIntN(bits, v) : v;
}

function reg(g: Gen, w: W, allowHigh = true): string {
  if (w === 8 && allowHigh && g.chance(0.1)) return '%' + g.pick(R8H);
  return '%' + g.pick(w === 64 ? R64 : w === 32 ? R32 : w === 16 ? R16 : R8);
}

/** Memory operand: base/index/scale/disp, %rip, absolute, segment overrides, labels. */
export function mem(g: Gen, opts: { labels?: boolean } = {}): string {
  const labels = opts.labels ?? true;
  const seg = g.chance(0.08) ? `%${g.pick(['fs', 'gs', 'gs', 'ds', 'ss', 'es', 'cs'])}:` : '';
  const k = g.int(20);
  const disp = () => {
    if (labels && g.chance(0.08)) return g.chance(0.5) ? g.label() : `${g.label()}+${g.int(64)}`;
    if (g.chance(0.04)) return g.forward();
    const c = g.int(6);
    if (c === 0) return '';
    if (c < 4) return numText(g, g.pick(DISP_BOUNDARIES));
    if (c === 4) return `(${g.int(100)}+${g.int(100)})`;
    return numText(g, BigInt(g.int(4096)) - 2048n);
  };
  if (k === 0) {
    // %rip-relative: a label (stored relative to the next instruction) or a number.
    const d = labels && g.chance(0.6) ? g.label() : g.chance(0.1) ? g.forward() : numText(g, g.pick(DISP_BOUNDARIES));
    return `${seg}${d}(%rip)`;
  }
  if (k === 1) {
    // Absolute address.
    const d = labels && g.chance(0.3) ? g.label() : g.chance(0.05) ? g.forward() : numText(g, g.pick([...DISP_BOUNDARIES, 0x500000n, 0xffffffff81000000n, 0x123456789n]));
    return `${seg}${d === '0' ? '0x0' : d}`;
  }
  const addr32 = g.chance(0.04);
  const regs = addr32 ? R32 : R64;
  // Labels with 32-bit addressing would need R_X86_64_32 relocations, which cannot reach the
  // kernel-like address the fuzz links at (ld: relocation truncated to fit).
  if (addr32) return `${seg}${numText(g, g.pick(DISP_BOUNDARIES))}(${g.chance(0.9) ? '%' + g.pick(R32) : ''},%${g.pick(R32.filter((r) => r !== 'esp'))},${g.pick([1, 2, 4, 8])})`;
  const base = g.chance(0.9) ? '%' + g.pick(regs) : '';
  const useIndex = g.chance(0.35) || base === '';
  const index = useIndex ? '%' + g.pick(regs.filter((r) => r !== 'rsp' && r !== 'esp')) : '';
  const scale = useIndex && g.chance(0.7) ? `,${g.pick([1, 2, 4, 8])}` : '';
  const inner = index ? `(${base},${index}${scale})` : `(${base})`;
  return `${seg}${disp()}${inner}`;
}

function imm(g: Gen, w: W, symbolic = false): string {
  if (symbolic) return `$${g.label()}`;
  if (g.chance(0.04)) return `$${g.forward()}`;
  return `$${numText(g, immValue(g, w))}`;
}

const ALU = ['add', 'sub', 'and', 'or', 'xor', 'cmp', 'adc', 'sbb'];
const UNARY = ['not', 'neg', 'inc', 'dec', 'mul', 'div', 'idiv', 'imul'];
const SHIFT = ['shl', 'shr', 'sar', 'sal', 'rol', 'ror', 'rcl', 'rcr'];
const BT = ['bt', 'bts', 'btr', 'btc'];
const SIMPLE = [
  'ret', 'nop', 'int3', 'lfence', 'mfence', 'sfence', 'sti', 'cli', 'cpuid', 'rdmsr', 'wrmsr', 'hlt', 'pause', 'ud2',
  'cld', 'std', 'clc', 'stc', 'cmc', 'leave', 'cqto', 'cltq', 'cwtl', 'cltd', 'pushfq', 'popfq', 'pushf', 'popf', 'swapgs',
  'rdtsc', 'rdtscp', 'xgetbv', 'seamcall', 'tdcall', 'seamret', 'seamops', 'endbr64', 'wbnoinvd', 'pconfig', 'clac', 'stac',
  'rep movsb', 'rep stosb', 'rep stosq', 'rep movsq', 'movsb', 'stosq', 'lodsb', 'wbinvd', 'invd', 'iretq', 'sysretq', 'syscall',
];

/** Size suffix: required when no register fixes the size, otherwise sometimes written. */
function sfx(g: Gen, w: W, required: boolean): string {
  return required || g.chance(0.4) ? SUFFIX[w] : '';
}

/** One random instruction in AT&T syntax. */
export function instruction(g: Gen): string {
  const w = g.pick(WIDTHS);
  const k = g.int(100);
  if (k < 18) {
    const op = g.pick(ALU);
    switch (g.int(5)) {
      case 0: return `${op}${sfx(g, w, false)} ${reg(g, w)}, ${reg(g, w)}`;
      case 1: return `${op}${sfx(g, w, false)} ${mem(g)}, ${reg(g, w)}`;
      case 2: return `${op}${sfx(g, w, false)} ${reg(g, w)}, ${mem(g)}`;
      case 3: return `${op}${sfx(g, w, false)} ${imm(g, w, w === 64 && g.chance(0.05))}, ${reg(g, w)}`;
      default: return `${op}${sfx(g, w, true)} ${imm(g, w, w === 64 && g.chance(0.05))}, ${mem(g)}`;
    }
  }
  if (k < 34) {
    switch (g.int(8)) {
      case 0: return `mov${sfx(g, w, false)} ${reg(g, w)}, ${reg(g, w)}`;
      case 1: return `mov${sfx(g, w, false)} ${mem(g)}, ${reg(g, w)}`;
      case 2: return `mov${sfx(g, w, false)} ${reg(g, w)}, ${mem(g)}`;
      case 3: return `mov${sfx(g, w, false)} ${imm(g, w, w === 64 && g.chance(0.1))}, ${reg(g, w)}`;
      case 4: return `mov${sfx(g, w, true)} ${imm(g, w, w === 64 && g.chance(0.1))}, ${mem(g)}`;
      case 5: return g.chance(0.5) ? `movabs ${imm(g, 64, g.chance(0.2))}, ${reg(g, 64)}` : `movabs ${numText(g, immValue(g, 64))}, %${g.pick(['al', 'ax', 'eax', 'rax'])}`;
      case 6: return `movq ${imm(g, 64)}, ${reg(g, 64)}`;
      default: return `mov ${mem(g)}, %${g.pick(['al', 'ax', 'eax', 'rax'])}`;
    }
  }
  if (k < 40) {
    // zero/sign extension, AT&T and Intel spellings.
    const forms: [string, W, W][] = [
      ['movzbw', 8, 16], ['movzbl', 8, 32], ['movzbq', 8, 64], ['movzwl', 16, 32], ['movzwq', 16, 64],
      ['movsbw', 8, 16], ['movsbl', 8, 32], ['movsbq', 8, 64], ['movswl', 16, 32], ['movswq', 16, 64], ['movslq', 32, 64],
      ['movzx', 8, 32], ['movzx', 16, 64], ['movzx', 8, 64], ['movsx', 8, 32], ['movsx', 16, 64], ['movsx', 8, 16],
      ['movzb', 8, 32], ['movzw', 16, 32], ['movsb', 8, 64], ['movsw', 16, 32],
    ];
    const [m, from, to] = g.pick(forms);
    return `${m} ${g.chance(0.6) ? reg(g, from) : mem(g)}, ${reg(g, to)}`;
  }
  if (k < 44) {
    const lw = g.pick([16, 32, 64, 64, 64] as W[]);
    return `lea${sfx(g, lw, false)} ${mem(g, { labels: lw === 64 })}, ${reg(g, lw)}`;
  }
  if (k < 50) {
    switch (g.int(6)) {
      case 0: return `push${g.chance(0.5) ? 'q' : ''} ${reg(g, 64)}`;
      case 1: return `pop${g.chance(0.5) ? 'q' : ''} ${reg(g, 64)}`;
      case 2: return `pushq ${mem(g)}`;
      case 3: return `popq ${mem(g)}`;
      case 4: return `push${g.chance(0.5) ? 'q' : ''} ${imm(g, 32, g.chance(0.1))}`;
      default: return g.chance(0.5) ? `pushw ${reg(g, 16)}` : `popw ${reg(g, 16)}`;
    }
  }
  if (k < 54) {
    switch (g.int(3)) {
      case 0: return `xchg${sfx(g, w, false)} ${reg(g, w)}, ${reg(g, w)}`;
      case 1: return `xchg${sfx(g, w, false)} ${reg(g, w)}, ${mem(g)}`;
      default: return `xchg${sfx(g, w, false)} ${mem(g)}, ${reg(g, w)}`;
    }
  }
  if (k < 59) {
    switch (g.int(4)) {
      case 0: return `test${sfx(g, w, false)} ${reg(g, w)}, ${reg(g, w)}`;
      case 1: return `test${sfx(g, w, false)} ${reg(g, w)}, ${mem(g)}`;
      case 2: return `test${sfx(g, w, false)} ${imm(g, w)}, ${reg(g, w)}`;
      default: return `test${sfx(g, w, true)} ${imm(g, w)}, ${mem(g)}`;
    }
  }
  if (k < 64) {
    const op = g.pick(UNARY);
    return g.chance(0.5) ? `${op}${sfx(g, w, false)} ${reg(g, w)}` : `${op}${sfx(g, w, true)} ${mem(g)}`;
  }
  if (k < 67) {
    const iw = g.pick([16, 32, 64] as W[]);
    switch (g.int(3)) {
      case 0: return `imul${sfx(g, iw, false)} ${g.chance(0.5) ? reg(g, iw) : mem(g)}, ${reg(g, iw)}`;
      case 1: return `imul${sfx(g, iw, false)} ${imm(g, iw)}, ${g.chance(0.5) ? reg(g, iw) : mem(g)}, ${reg(g, iw)}`;
      default: return `imul${sfx(g, iw, false)} ${imm(g, iw)}, ${reg(g, iw)}`;
    }
  }
  if (k < 72) {
    const op = g.pick(SHIFT);
    const target = g.chance(0.5) ? reg(g, w) : mem(g);
    const needs = !target.startsWith('%');
    switch (g.int(3)) {
      case 0: return `${op}${sfx(g, w, needs)} $${numText(g, g.pick([0n, 1n, 2n, 3n, 7n, 8n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, -1n, 0x100n]))}, ${target}`;
      case 1: return `${op}${sfx(g, w, needs)} %cl, ${target}`;
      default: return `${op}${sfx(g, w, needs)} ${target}`;
    }
  }
  if (k < 76) {
    const op = g.pick(BT);
    const bw = g.pick([16, 32, 64] as W[]);
    const target = g.chance(0.5) ? reg(g, bw) : mem(g);
    const needs = !target.startsWith('%');
    return g.chance(0.5) ? `${op}${sfx(g, bw, needs)} $${numText(g, BigInt(g.int(80)))}, ${target}` : `${op}${sfx(g, bw, false)} ${reg(g, bw)}, ${target}`;
  }
  if (k < 79) return `set${g.pick(CC)} ${g.chance(0.7) ? reg(g, 8) : mem(g)}`;
  if (k < 82) {
    const cw = g.pick([16, 32, 64] as W[]);
    return `cmov${g.pick(CC)} ${g.chance(0.6) ? reg(g, cw) : mem(g)}, ${reg(g, cw)}`;
  }
  if (k < 88) {
    // Direct branches to labels (the fuzz takes the form GNU as chose; relaxation is the front end's).
    switch (g.int(4)) {
      case 0: return `jmp ${g.label()}`;
      case 1: return `call ${g.label()}`;
      default: return `j${g.pick(CC)} ${g.label()}`;
    }
  }
  if (k < 91) {
    const op = g.pick(['jmp', 'call']);
    return g.chance(0.5) ? `${op} *${reg(g, 64, false)}` : `${op} *${mem(g)}`;
  }
  if (k < 94) {
    const op = g.pick(['add', 'sub', 'inc', 'dec', 'xadd', 'cmpxchg', 'bts', 'btr', 'or', 'and', 'xchg']);
    const lw = g.pick([8, 16, 32, 64] as W[]);
    switch (op) {
      case 'inc': case 'dec': return `lock ${op}${SUFFIX[lw]} ${mem(g)}`;
      case 'xadd': case 'cmpxchg': case 'xchg': return `lock ${op}${sfx(g, lw, false)} ${reg(g, lw)}, ${mem(g)}`;
      case 'bts': case 'btr': return `lock ${op}${SUFFIX[lw === 8 ? 32 : lw]} $${g.int(32)}, ${mem(g)}`;
      default: return `lock ${op}${SUFFIX[lw]} ${imm(g, lw)}, ${mem(g)}`;
    }
  }
  if (k < 95) {
    switch (g.int(5)) {
      case 0: return `ret $${numText(g, BigInt(g.pick([0, 8, 16, 0x7fff, 0xffff])))}`;
      case 1: return g.chance(0.2) ? `int $F_0` : `int $${numText(g, BigInt(g.pick([3, 0x80, 0xff])))}`;
      case 2: return `nop${g.pick(['w', 'l'])} ${mem(g, { labels: false })}`;
      case 3: return g.chance(0.5) ? `in $0x60, %al` : `out %al, $0x80`;
      default: return `${g.pick(['bsf', 'bsr', 'popcnt', 'lzcnt', 'tzcnt'])} ${g.chance(0.5) ? reg(g, 64) : mem(g)}, ${reg(g, 64)}`;
    }
  }
  if (k < 98) return misc(g);
  return g.pick(SIMPLE);
}

/** System and less common instructions kernel code uses. */
function misc(g: Gen): string {
  const cr = `%cr${g.pick([0, 2, 3, 4, 8])}`;
  const xmm = () => `%xmm${g.int(16)}`;
  switch (g.int(16)) {
    case 0: return g.chance(0.5) ? `mov ${cr}, ${reg(g, 64)}` : `mov ${reg(g, 64)}, ${cr}`;
    case 1: return g.chance(0.5) ? `mov %db${g.pick([0, 6, 7])}, ${reg(g, 64)}` : `mov ${reg(g, 64)}, %db${g.pick([0, 7])}`;
    case 2: {
      const sreg = `%${g.pick(['ds', 'es', 'fs', 'gs', 'ss'])}`;
      return g.pick([`mov ${sreg}, ${reg(g, g.pick([16, 32, 64] as W[]))}`, `mov ${reg(g, g.pick([16, 32] as W[]))}, ${sreg}`, `mov ${sreg}, ${mem(g)}`, `movw ${mem(g)}, ${sreg}`]);
    }
    case 3: return `bswap ${reg(g, g.pick([32, 64] as W[]))}`;
    case 4: return `${g.pick(['lock cmpxchg8b', 'lock cmpxchg16b', 'cmpxchg16b'])} ${mem(g)}`;
    case 5: return `${g.pick(['xsave', 'xrstor', 'fxsave', 'fxrstor', 'xsaves', 'xrstors', 'xsave64', 'xrstor64', 'clflush', 'clflushopt', 'clwb', 'prefetcht0', 'prefetchw', 'lgdt', 'lidt', 'sgdt', 'invlpg', 'ldmxcsr', 'stmxcsr'])} ${mem(g)}`;
    case 6: return `${g.pick(['rdrand', 'rdseed'])} ${reg(g, g.pick([16, 32, 64] as W[]))}`;
    case 7: return `rdpid ${reg(g, 64)}`;
    case 8: return g.pick(['monitor', 'mwait', 'xsetbv', 'rdpmc', 'lret', 'sysret', 'sysexit', 'vmcall', 'vmlaunch', 'vmresume', 'vmxoff', 'encls', 'serialize', 'hlt', 'nop']);
    case 9: return g.pick([`movdqu ${mem(g)}, ${xmm()}`, `movdqa ${xmm()}, ${mem(g)}`, `pxor ${xmm()}, ${xmm()}`, `movq ${reg(g, 64)}, ${xmm()}`, `movq ${xmm()}, ${reg(g, 64)}`, `movd ${reg(g, 32)}, ${xmm()}`, `movups ${mem(g)}, ${xmm()}`,
      `pshufd $${g.int(256)}, ${g.chance(0.5) ? xmm() : mem(g)}, ${xmm()}`, `shufps $${g.int(256)}, ${mem(g)}, ${xmm()}`,
      `pinsrq $${g.int(2)}, ${g.chance(0.5) ? reg(g, 64) : mem(g)}, ${xmm()}`, `pextrd $${g.int(4)}, ${xmm()}, ${g.chance(0.5) ? reg(g, 32) : mem(g)}`,
      `vpshufd $${g.int(256)}, ${mem(g)}, %ymm${g.int(16)}`, `vmovdqu ${mem(g)}, %ymm${g.int(16)}`]);
    case 10: return `ltr ${g.chance(0.5) ? reg(g, 16) : mem(g)}`;
    case 11: return `${g.pick(['str', 'sldt', 'smsw'])} ${reg(g, g.pick([16, 32, 64] as W[]))}`;
    case 12: return `movnti ${reg(g, g.pick([32, 64] as W[]))}, ${mem(g)}`;
    case 13: return `${g.pick(['rep', 'repe', 'repne'])} ${g.pick(['movsb', 'movsw', 'movsl', 'movsq', 'stosb', 'stosw', 'stosl', 'stosq', 'cmpsb', 'scasb', 'lodsq'])}`;
    case 14: return `${g.pick(['shld', 'shrd'])} ${g.chance(0.5) ? `$${g.int(64)}` : '%cl'}, ${reg(g, 64)}, ${g.chance(0.5) ? reg(g, 64) : mem(g)}`;
    default: return `${g.pick(['cmpxchg', 'xadd'])}${sfx(g, 64, false)} ${reg(g, 64)}, ${g.chance(0.5) ? reg(g, 64) : mem(g)}`;
  }
}

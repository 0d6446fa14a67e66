/**
 * The listing's resolved instructions (Capstone) against `objdump -d` of the
 * object GNU as builds from the same preprocessed 6.12 seamcall.S: at every
 * instruction statement, the same mnemonic (modulo the AT&T size suffix
 * objdump leaves out) and the same operands (numbers compared as values,
 * branch targets as addresses). Also the listing text itself: the resolved
 * instruction sits beside the cpp text it came from.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PreprocessedSource } from '../src/cpp/types.js';
import { loadDisassembler } from '../src/encode/capstone.js';
import { buildImage } from '../src/image/build.js';
import { defaultPreprocess } from '../src/image/cpp-bridge.js';
import { resolveRevision } from '../src/intake/revision.js';
import { formatListing, resolvedInstruction } from '../src/report/listing.js';
import { hasCommand, requireOracle } from './support/oracles.js';

const HAVE = hasCommand('as') && hasCommand('objdump');
const FILE = 'arch/x86/virt/vmx/tdx/seamcall.S';

/** objdump -d of GNU as's object: section offset → "mnemonic operands". */
function objdumpText(asmText: string): Map<number, string> {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-objdump-'));
  try {
    writeFileSync(join(dir, 'in.s'), asmText);
    const as = spawnSync('as', ['--64', '-o', join(dir, 'in.o'), join(dir, 'in.s')], { encoding: 'utf8' });
    if (as.status !== 0) throw new Error(as.stderr);
    const dump = spawnSync('objdump', ['-d', '-z', '-w', '--no-show-raw-insn', '--section=.text', join(dir, 'in.o')], { encoding: 'utf8' });
    if (dump.status !== 0) throw new Error(dump.stderr);
    const out = new Map<number, string>();
    for (const line of dump.stdout.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t(.*)$/.exec(line);
      if (m) out.set(parseInt(m[1]!, 16), m[2]!.trim());
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Operands as comparable text: no blanks, numbers as 64-bit values (so
 * `$-8` = `$0xfffffffffffffff8`), `0x0(` and a scale of 1 dropped, objdump's
 * `<sym+off>` dropped and its bare branch target (a section offset) made an
 * address.
 */
function operands(text: string, targetBase?: bigint): string {
  let t = text.replace(/<[^>]*>/g, '').replace(/\s+/g, '');
  if (targetBase !== undefined && /^[0-9a-f]+$/.test(t)) t = `0x${(BigInt(`0x${t}`) + targetBase).toString(16)}`;
  t = t.replace(/,1\)/g, ')').replace(/(^|[,:$])0x0\(/g, '$1(');
  return t.replace(/(?<![\w%.])(-?)(0x[0-9a-f]+|\d+)/g, (_, sign: string, n: string) => `#${BigInt.asUintN(64, sign ? -BigInt(n) : BigInt(n)).toString(16)}`);
}

function sameInstruction(capstone: string, objdump: string, base: bigint): boolean {
  const [cm, ...co] = capstone.split(' ');
  const [om, ...oo] = objdump.split(/\s+/);
  const mnemonic = cm === om || cm!.replace(/[bwlq]$/, '') === om;
  const branch = /^(j|call|loop)/.test(om!);
  return mnemonic && operands(co.join(' ')) === operands(oo.join(' '), branch ? base : undefined);
}

describe.skipIf(!requireOracle('GNU as/objdump', HAVE, 'apt-get install binutils'))('listing: resolved instructions = objdump (6.12 seamcall.S)', () => {
  const rev = resolveRevision('linux-6.12');
  let src!: PreprocessedSource;
  // A custom preprocessor is not cached: this build's text is the one GNU as reads.
  const built = buildImage(rev.files, FILE, { preprocess: (f, p, o) => (src = defaultPreprocess(f, p, o)) });
  const text = built.image.sections.find((s) => s.name === '.text')!;
  const gnu = objdumpText(src.lines.join('\n') + '\n');

  it('every instruction statement shows what objdump shows at its address', async () => {
    const disasm = await loadDisassembler();
    let compared = 0;
    for (const e of built.listing) {
      if (e.section !== '.text' || e.address === undefined || (e.bytes !== 'insn' && e.bytes !== 'data')) continue;
      const bytes = text.bytes.subarray(Number(e.address - text.address), Number(e.address - text.address) + e.size);
      const mine = resolvedInstruction(disasm, text, e.address, bytes);
      const theirs = gnu.get(Number(e.address - text.address));
      expect(theirs, `objdump at ${e.origin.text}`).toBeDefined();
      expect(mine, `resolved ${e.origin.text}`).toBeDefined();
      expect(sameInstruction(mine!, theirs!, text.address), `${e.origin.text}: seamlab "${mine}", objdump "${theirs}"`).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('the listing line of TDX_SW_ERROR | … shows movabs with the value beside the cpp text', async () => {
    const listing = formatListing(built.image, built.listing, await loadDisassembler());
    const line = listing.split('\n').find((l) => l.includes('mov $((((1)<<(63))'))!;
    expect(line).toMatch(/^ffffffff81000026  48 b8 00 00 ff ff 00 ff +mov \$\(.*%rax  movabsq \$0x8000ff00ffff0000, %rax +arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:\d+$/);
    expect(gnu.get(0x26)).toBe('movabs $0x8000ff00ffff0000,%rax');
    expect(listing).toMatch(/\.byte 0x66,0x0f,0x01,0xcf +seamcall +arch/);
  });
});

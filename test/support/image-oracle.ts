/**
 * The assembler + linker oracle: GNU as 2.40 and GNU ld link the same
 * preprocessed text at the addresses seamlab's linker uses. The placement
 * rule is written again here from its description in src/image/link.ts
 * (read from GNU's own object file), so the two links are independent:
 *
 *   .text first, then every other allocated section in object file order;
 *   each one that has bytes or a symbol at the next 4 KiB boundary (or its
 *   alignment) from 0xffffffff81000000 on; then the harness stubs, 16-byte
 *   aligned, by name.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_STUBS } from '../../src/image/stubs.js';

export const ORACLE_TEXT_BASE = 0xffffffff81000000n;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

export interface GnuSection {
  name: string;
  address: bigint;
  bytes: Uint8Array;
}

export interface GnuSymbol {
  name: string;
  address: bigint;
  size: bigint;
  type: string;
  bind: string;
  ndx: string;
}

export interface GnuLinked {
  sections: GnuSection[];
  symbols: GnuSymbol[];
  script: string;
}

interface ObjSection {
  index: number;
  name: string;
  type: string;
  flags: string;
  size: number;
  align: number;
}

function objSections(obj: string): ObjSection[] {
  const out: ObjSection[] = [];
  for (const line of run('readelf', ['-SW', obj]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s+\d+\s+\d+\s+(\d+)\s*$/.exec(line);
    if (m) out.push({ index: Number(m[1]), name: m[2]!, type: m[3]!, flags: m[5]!, size: parseInt(m[4]!, 16), align: Number(m[6]) });
  }
  return out;
}

function readSymbols(file: string): GnuSymbol[] {
  const out: GnuSymbol[] = [];
  for (const line of run('readelf', ['-sW', file]).split('\n')) {
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m || m[3] === 'SECTION' || m[3] === 'FILE') continue;
    out.push({ name: m[6]!, address: BigInt('0x' + m[1]!), size: BigInt(m[2]!), type: m[3]!, bind: m[4]!, ndx: m[5]! });
  }
  return out;
}

const alignUp = (v: bigint, a: bigint) => ((v + a - 1n) / a) * a;

/** Assembles with GNU as, links with GNU ld at seamlab's addresses, reads sections and symbols back. */
export function gnuLink(asmText: string): GnuLinked {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-oracle-'));
  try {
    const src = join(dir, 'in.s');
    const obj = join(dir, 'in.o');
    writeFileSync(src, asmText.endsWith('\n') ? asmText : asmText + '\n');
    run('as', ['--64', '-o', obj, src]);
    const secs = objSections(obj);
    const objSyms = readSymbols(obj);
    const withSymbols = new Set(objSyms.filter((s) => /^\d+$/.test(s.ndx)).map((s) => Number(s.ndx)));
    const placed: { name: string; address: bigint }[] = [];
    let next = ORACLE_TEXT_BASE;
    const text = secs.find((s) => s.name === '.text')!;
    const order = [text, ...secs.filter((s) => s !== text && s.flags.includes('A'))];
    for (const s of order) {
      if (s.size === 0 && !withSymbols.has(s.index)) continue;
      const base = alignUp(next, BigInt(Math.max(s.align, 0x1000)));
      placed.push({ name: s.name, address: base });
      next = base + BigInt(s.size);
    }
    // Stubs: undefined symbols that relocations use, by name.
    const relocated = new Set<string>();
    for (const line of run('readelf', ['-rW', obj]).split('\n')) {
      const m = /^[0-9a-f]+\s+[0-9a-f]+\s+R_X86_64_\S+\s+[0-9a-f]+\s+(\S+)/.exec(line);
      if (m) relocated.add(m[1]!);
    }
    const undefinedNames = objSyms.filter((s) => s.ndx === 'UND' && relocated.has(s.name)).map((s) => s.name).sort();
    let stub = alignUp(next, 0x1000n);
    const stubAddr: string[] = [];
    for (const name of undefinedNames) {
      const def = KERNEL_STUBS.get(name);
      if (!def) throw new Error(`oracle: no stub for undefined ${name}`);
      stub = alignUp(stub, 16n);
      stubAddr.push(`${name} = 0x${stub.toString(16)};`);
      stub += BigInt(def.bytes.length);
    }
    const script = [
      'SECTIONS {',
      ...placed.map((p) => `  ${p.name} 0x${p.address.toString(16)} : { *(${p.name}) }`),
      '}',
      ...stubAddr,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'link.ld'), script);
    const elf = join(dir, 'out.elf');
    run('ld', ['-z', 'noexecstack', '-T', join(dir, 'link.ld'), '-o', elf, obj]);
    const sections: GnuSection[] = placed.map((p) => {
      const bin = join(dir, 'sec.bin');
      run('objcopy', ['-O', 'binary', `--only-section=${p.name}`, elf, bin]);
      const sz = objSections(elf).find((s) => s.name === p.name);
      const bytes = sz && sz.type === 'NOBITS' ? new Uint8Array(sz.size) : new Uint8Array(readFileSync(bin));
      return { name: p.name, address: p.address, bytes };
    });
    return { sections, symbols: readSymbols(elf), script };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

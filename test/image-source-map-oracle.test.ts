/**
 * The oracle for line → addresses: for every line of 6.12's
 * `TDX_MODULE_CALL` body (arch/x86/virt/vmx/tdx/tdxcall.S), the addresses
 * seamlab's SourceMap gives in each of the three expansions in seamcall.S
 * (__seamcall, __seamcall_ret, __seamcall_saved_ret) are the ones GNU as's
 * listing (`as -alm`) gives for the same line — gcc's preprocessing with
 * line markers, GNU as's offsets, GNU ld's section addresses
 * (test/support/gas-listing.ts).
 */
import { describe, expect, it } from 'vitest';
import { buildEnvironment } from '../src/cpp/index.js';
import { buildImage } from '../src/image/build.js';
import { SourceMap } from '../src/image/source-map.js';
import { resolveRevision } from '../src/intake/revision.js';
import { gccPreprocessWithMarkers, logicalLines, macroBodyBytes } from './support/gas-listing.js';
import { gnuLink } from './support/image-oracle.js';
import { hasCommand, requireOracle } from './support/oracles.js';

const HAVE = hasCommand('gcc') && hasCommand('as') && hasCommand('ld') && hasCommand('objcopy') && hasCommand('readelf');
const SEAMCALL = 'arch/x86/virt/vmx/tdx/seamcall.S';
const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';

describe.skipIf(!requireOracle('GNU gcc/as/ld', HAVE, 'apt-get install gcc binutils'))('line → addresses = GNU as listing (6.12 TDX_MODULE_CALL)', () => {
  const rev = resolveRevision('linux-6.12');
  const text = gccPreprocessWithMarkers(buildEnvironment(rev.files, { profile: 'default' }), SEAMCALL);
  const oracle = macroBodyBytes(text, 'TDX_MODULE_CALL');
  const bases = new Map(gnuLink(text).sections.map((s) => [s.name, s.address]));
  const map = new SourceMap(buildImage(rev.files, SEAMCALL).image);

  // The body's lines: from the .macro line to the .endm line, as gcc's markers number them.
  const logical = logicalLines(text);
  const physical = text.split('\n');
  const open = physical.findIndex((l) => /^\.macro TDX_MODULE_CALL\b/.test(l.trim())) + 1;
  const close = physical.findIndex((l, i) => i >= open && /^\.endm\b/.test(l.trim())) + 1;
  const first = logical[open]!;
  const last = logical[close]!;

  const key = (invokedAt: number, via: string, address: bigint, size: number) => `${invokedAt}:${via}:0x${address.toString(16)}+${size}`;

  it('reads three expansions of a body in tdxcall.S', () => {
    expect([first.file, last.file]).toEqual([TDXCALL, TDXCALL]);
    expect(last.line - first.line).toBeGreaterThan(100);
    expect([...new Set(oracle.map((o) => `${o.invokedAt.file}:${o.invokedAt.line}`))]).toEqual([`${SEAMCALL}:22`, `${SEAMCALL}:41`, `${SEAMCALL}:60`]);
  });

  it('every body line: the same addresses, per expansion, directly or through the macro it invokes', () => {
    const withCode: number[] = [];
    for (let line = first.line; line <= last.line; line++) {
      const want = oracle
        .filter((o) => o.at.line === line)
        .map((o) => key(o.invokedAt.line, o.via, bases.get(o.section)! + BigInt(o.offset), o.size))
        .sort();
      const got = map
        .addressesOf(TDXCALL, line)
        .map((a) => {
          const tdx = a.location.gasStack.find((f) => f.name === 'TDX_MODULE_CALL')!;
          expect(tdx.invokedAt.file).toBe(SEAMCALL);
          return key(tdx.invokedAt.line, a.via, a.address, a.size);
        })
        .sort();
      expect(got, `${TDXCALL}:${line}`).toEqual(want);
      if (oracle.some((o) => o.at.line === line && o.section === '.text')) withCode.push(line);
    }
    expect(withCode.length).toBeGreaterThan(40);
    // Lines with code (for breakpoints): exactly those GNU as put .text bytes on.
    expect(map.linesWithCode(TDXCALL).filter((l) => l >= first.line && l <= last.line)).toEqual(withCode);
  });

  it('a body line used by all three expansions has three addresses, one per expansion', () => {
    // tdxcall.S:52 `movq TDX_MODULE_rcx(%rsi), %rcx` (cpp: 0(%rsi)).
    const a = map.addressesOf(TDXCALL, 52);
    expect(a.map((x) => x.location.gasStack[0]!.invokedAt.line)).toEqual([22, 41, 60]);
    expect(new Set(a.map((x) => x.location.gasStack[0]!.counter)).size).toBe(3);
    expect(a.every((x) => x.via === 'line' && x.text === 'movq 0(%rsi),%rcx')).toBe(true);
  });

  it('an invocation line in seamcall.S maps to its whole expansion', () => {
    const want = oracle.filter((o) => o.invokedAt.line === 22 && o.section === '.text').map((o) => bases.get('.text')! + BigInt(o.offset));
    const got = map.addressesOf(SEAMCALL, 22).filter((a) => a.section === '.text');
    expect(got.map((a) => a.address)).toEqual(want);
    expect(got.every((a) => a.via === 'expansion')).toBe(true);
  });
});

/**
 * Instructions Keystone 0.9.2 does not know, encoded from seamlab's table
 * (src/encode/mnemonics.ts). Bytes by hand from the TDX module ABI spec and
 * the SDM, and checked live against GNU as 2.40 for every table row.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { KeystoneEncoder } from '../src/encode/keystone.js';
import { FIXED_OPCODES } from '../src/encode/mnemonics.js';
import { enc, hex } from './support/encode-helpers.js';
import { hasCommand, requireOracle } from './support/oracles.js';
import { assembleWithGas } from './support/gas-oracle.js';

const ks = new KeystoneEncoder();
afterAll(() => ks.close());

describe('table instructions', () => {
  it.each([
    ['seamcall', '660f01cf'],
    ['tdcall', '660f01cc'],
    ['seamret', '660f01cd'],
    ['seamops', '660f01ce'],
    ['endbr64', 'f30f1efa'],
    ['endbr32', 'f30f1efb'],
    ['wbnoinvd', 'f30f09'],
    ['pconfig', '0f01c5'],
    ['serialize', '0f01e8'],
  ])('%s → %s', (m, bytes) => {
    expect(enc(m)).toBe(bytes);
  });

  it('the TDX instructions are ones Keystone rejects', () => {
    for (const m of ['seamcall', 'tdcall', 'seamret', 'seamops', 'endbr64']) {
      expect(ks.assembleRaw(m)).toMatchObject({ ok: false, kind: 'rejected' });
    }
  });

  it('rdpid (register table): F3 [REX.B] 0F C7 /7', () => {
    expect(enc('rdpid %rax')).toBe('f30fc7f8');
    expect(enc('rdpid %r8')).toBe('f3410fc7f8');
  });

  it('written prefixes go before table bytes', () => {
    expect(enc('ds seamcall')).toBe('3e660f01cf');
  });
});

const haveBinutils = hasCommand('as') && hasCommand('ld') && hasCommand('nm') && hasCommand('objcopy');
describe.skipIf(!requireOracle('GNU binutils (as, ld)', haveBinutils, 'apt-get install binutils'))('table vs GNU as', () => {
  it('every table row is what GNU as 2.40 emits', () => {
    const names = Object.keys(FIXED_OPCODES);
    const lines = [...names, 'rdpid %rax', 'rdpid %r15'];
    const gas = assembleWithGas(lines, 0x1000n);
    expect([...gas.rejected.entries()]).toEqual([]);
    expect(lines.map((l) => [l, enc(l)])).toEqual(lines.map((l, i) => [l, hex(gas.bytes[i]!)]));
  });
});

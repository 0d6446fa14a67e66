/**
 * Direct branches (src/encode/branches.ts): short/near forms, rel8
 * boundaries, every jcc alias, call, loop/jrcxz, lengths for relaxation.
 * Expected bytes are hand-computed from the SDM encodings (EB/E9, 7x/0F 8x,
 * E8, E0–E3; rel = target − end of instruction), and checked live against
 * GNU as for the alias table.
 */
import { describe, expect, it } from 'vitest';
import { branchLength, encodeInstruction, isDirectBranch, isRelaxableBranch, parseInstruction } from '../src/encode/x86.js';
import type { ResolvedInstruction } from '../src/encode/types.js';
import { errorCode, hex } from './support/encode-helpers.js';
import { hasCommand, requireOracle } from './support/oracles.js';
import { assembleWithGas } from './support/gas-oracle.js';

const A = 0x1000n;
const br = (mnemonic: string, target: bigint, known = true, prefixes: string[] = []): ResolvedInstruction => ({
  prefixes, mnemonic, operands: [{ kind: 'target', address: { value: target, known, relocatable: true } }],
});

describe('direct branches', () => {
  it('jmp short reaches -128..+127 from the end of the instruction', () => {
    expect(hex(encodeInstruction(br('jmp', A + 2n + 127n), A, 'short'))).toBe('eb7f');
    expect(hex(encodeInstruction(br('jmp', A + 2n - 128n), A, 'short'))).toBe('eb80');
    expect(hex(encodeInstruction(br('jmp', A + 2n), A, 'short'))).toBe('eb00');
    expect(hex(encodeInstruction(br('jmp', A), A, 'short'))).toBe('ebfe');
    expect(errorCode(() => encodeInstruction(br('jmp', A + 2n + 128n), A, 'short'))).toBe('ENCODE_BRANCH_RANGE');
    expect(errorCode(() => encodeInstruction(br('jmp', A + 2n - 129n), A, 'short'))).toBe('ENCODE_BRANCH_RANGE');
  });

  it('jmp near is E9 rel32', () => {
    expect(hex(encodeInstruction(br('jmp', A + 5n + 0x7dn), A, 'near'))).toBe('e97d000000');
    expect(hex(encodeInstruction(br('jmp', A), A, 'near'))).toBe('e9fbffffff');
    // Kernel addresses: rel32 between two 0xffffffff81… addresses.
    expect(hex(encodeInstruction(br('jmp', 0xffffffff81000100n), 0xffffffff81000000n, 'near'))).toBe('e9fb000000');
  });

  it('jcc short is 7x rel8 and near 0F 8x rel32, with the rel8 boundaries', () => {
    expect(hex(encodeInstruction(br('jc', A + 2n + 127n), A, 'short'))).toBe('727f');
    expect(hex(encodeInstruction(br('jc', A + 2n - 128n), A, 'short'))).toBe('7280');
    expect(errorCode(() => encodeInstruction(br('jc', A + 2n + 128n), A, 'short'))).toBe('ENCODE_BRANCH_RANGE');
    expect(hex(encodeInstruction(br('jc', A + 6n + 128n), A, 'near'))).toBe('0f8280000000');
    expect(hex(encodeInstruction(br('jnz', A - 0x100n), A, 'near'))).toBe('0f85fafeffff');
  });

  it('knows every jcc alias GNU as accepts', () => {
    const expected: Record<string, number> = {
      jo: 0x70, jno: 0x71, jb: 0x72, jc: 0x72, jnae: 0x72, jae: 0x73, jnb: 0x73, jnc: 0x73,
      je: 0x74, jz: 0x74, jne: 0x75, jnz: 0x75, jbe: 0x76, jna: 0x76, ja: 0x77, jnbe: 0x77,
      js: 0x78, jns: 0x79, jp: 0x7a, jpe: 0x7a, jnp: 0x7b, jpo: 0x7b, jl: 0x7c, jnge: 0x7c,
      jge: 0x7d, jnl: 0x7d, jle: 0x7e, jng: 0x7e, jg: 0x7f, jnle: 0x7f,
    };
    for (const [m, op] of Object.entries(expected)) {
      expect([m, hex(encodeInstruction(br(m, A + 2n), A, 'short'))]).toEqual([m, op.toString(16) + '00']);
      expect([m, hex(encodeInstruction(br(m, A + 6n), A, 'near'))]).toEqual([m, '0f' + (op + 0x10).toString(16) + '00000000']);
    }
  });

  it('call is always E8 rel32', () => {
    expect(hex(encodeInstruction(br('call', A + 5n), A))).toBe('e800000000');
    expect(hex(encodeInstruction(br('call', A + 5n), A, 'short'))).toBe('e800000000');
    expect(hex(encodeInstruction(br('callq', A - 0x10n), A))).toBe('e8ebffffff');
  });

  it('without a form: short when the target is known and in range, near otherwise', () => {
    expect(hex(encodeInstruction(br('jmp', A + 0x10n), A))).toBe('eb0e');
    expect(hex(encodeInstruction(br('jmp', A + 0x200n), A))).toBe('e9fb010000');
    // A target GNU as does not know when it sizes the branch (external, other section): rel32.
    expect(hex(encodeInstruction(br('jmp', A + 0x10n, false), A))).toBe('e90b000000');
  });

  it('loop/jrcxz have only rel8; jecxz adds the address-size prefix', () => {
    expect(hex(encodeInstruction(br('loop', A), A))).toBe('e2fe');
    expect(hex(encodeInstruction(br('jrcxz', A + 2n + 5n), A))).toBe('e305');
    expect(hex(encodeInstruction(br('jecxz', A + 3n), A))).toBe('67e300');
    expect(errorCode(() => encodeInstruction(br('loop', A + 0x200n), A))).toBe('ENCODE_BRANCH_RANGE');
  });

  it('written prefixes come first and count in the displacement (bnd jmp)', () => {
    expect(hex(encodeInstruction(br('jmp', A + 3n, true, ['bnd']), A, 'short'))).toBe('f2eb00');
    expect(hex(encodeInstruction(br('jmp', A + 6n, true, ['bnd']), A, 'near'))).toBe('f2e900000000');
  });

  it('tells the front end which branches relax and how long each form is', () => {
    const p = (t: string) => parseInstruction(t);
    expect(isRelaxableBranch(p('jmp .Lout'))).toBe(true);
    expect(isRelaxableBranch(p('jnc .Lno_vmfailinvalid'))).toBe(true);
    expect(isRelaxableBranch(p('call __x86_return_thunk'))).toBe(false);
    expect(isRelaxableBranch(p('jmp *%rax'))).toBe(false);
    expect(isDirectBranch(p('call foo'))).toBe(true);
    expect(isDirectBranch(p('ret'))).toBe(false);
    expect(branchLength(p('jmp x'), 'short')).toBe(2);
    expect(branchLength(p('jmp x'), 'near')).toBe(5);
    expect(branchLength(p('jz x'), 'short')).toBe(2);
    expect(branchLength(p('jz x'), 'near')).toBe(6);
    expect(branchLength(p('call x'), 'short')).toBe(5);
    expect(branchLength(p('bnd jmp x'), 'near')).toBe(6);
    expect(errorCode(() => branchLength(p('ret'), 'near'))).toBe('ENCODE_UNSUPPORTED');
  });

  it('indirect branches go through the ordinary encoder', () => {
    const r = (t: string) => hex(encodeInstruction({ ...parseInstruction(t), operands: parseInstruction(t).operands.map((o) => o.kind === 'indirect' && o.operand.kind === 'mem' ? { kind: 'indirect', operand: { ...o.operand, disp: o.operand.disp === undefined ? undefined : { value: BigInt(o.operand.disp), known: true } } } : o) } as ResolvedInstruction, A));
    expect(r('jmp *%rax')).toBe('ffe0');
    expect(r('call *%r11')).toBe('41ffd3');
    expect(r('call *0x8(%rax)')).toBe('ff5008');
    expect(r('jmp *(%rax,%rcx,8)')).toBe('ff24c8');
  });
});

const haveBinutils = hasCommand('as') && hasCommand('ld') && hasCommand('nm') && hasCommand('objcopy');
describe.skipIf(!requireOracle('GNU binutils (as, ld)', haveBinutils, 'apt-get install binutils'))('direct branches vs GNU as', () => {
  it('every jcc alias, jmp and call, short and near, match GNU as + ld', () => {
    const aliases = ['jo', 'jno', 'jb', 'jc', 'jnae', 'jae', 'jnb', 'jnc', 'je', 'jz', 'jne', 'jnz', 'jbe', 'jna', 'ja', 'jnbe', 'js', 'jns', 'jp', 'jpe', 'jnp', 'jpo', 'jl', 'jnge', 'jge', 'jnl', 'jle', 'jng', 'jg', 'jnle', 'jmp', 'call'];
    // Each branch goes to a label just after it (short) or past a 300-byte gap (near).
    const lines: string[] = [];
    for (const m of aliases) {
      lines.push(`${m} L_${lines.length + 1}`);
      lines.push('nop');
    }
    const nearStart = lines.length;
    for (const m of aliases) lines.push(`${m} L_${nearStart + aliases.length}`);
    lines.push('.skip 300');
    lines.push('nop');
    const gas = assembleWithGas(lines, 0xffffffff81000000n);
    const labels = gas.labels;
    lines.forEach((text, i) => {
      if (!/^(j|call)/.test(text)) return;
      const p = parseInstruction(text);
      const target = labels.get((p.operands[0] as { expr: string }).expr)!;
      const form = gas.bytes[i]!.length === 2 ? 'short' : 'near';
      expect([text, hex(encodeInstruction(br(p.mnemonic, target), gas.address[i]!, form))]).toEqual([text, hex(gas.bytes[i]!)]);
    });
  });
});

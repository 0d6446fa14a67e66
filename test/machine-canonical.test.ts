/**
 * A data access through a non-canonical address raises #GP(0), not a page
 * fault (Intel SDM Vol. 3A §6.15, "Interrupt 13—General Protection
 * Exception": "… a linear address … that is not in canonical form"; an
 * access whose last byte crosses out of the canonical range counts too).
 * Unicorn reports such an access as unmapped memory; the machine turns it
 * into #GP, through the exception table (ex_handler_fault: RAX = trapnr 13)
 * or an oops. The silicon oracle found the difference (test/oracle.test.ts
 * checks the same runs against the CPU).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isCanonicalAccess } from '../src/machine/execution.js';
import { Machine, type MachineRun } from '../src/machine/machine.js';
import { planCall } from '../src/run/plan.js';
import type { FunctionAbi } from '../src/intake/types.js';
import { HOST_ENV } from '../src/seam/types.js';
import { serveWithEnvironment } from '../src/seam/env.js';
import { X, miniImage, type MiniStmt } from './support/mini-image.js';
import type { Image } from '../src/image/types.js';

const VOID_ABI: FunctionAbi = { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] };
const EX_TYPE_FAULT = 2;

let machines: Machine[] = [];
afterEach(() => {
  for (const m of machines) m.close();
  machines = [];
});

function run(image: Image, rax: bigint): { m: Machine; run: MachineRun } {
  const m = new Machine(image);
  machines.push(m);
  const addr = image.symbols.find((s) => s.name === 'f')!.address;
  planCall(m, VOID_ABI, addr, { leaf: 0n, inputs: {} });
  m.regs.read();
  m.regs.values[0] = rax;
  m.regs.write();
  return { m, run: m.run({ entry: addr, serve: serveWithEnvironment({ name: 't', handle: () => ({ kind: 'return', rax: 0n }) }), handlerName: 't', env: HOST_ENV, budget: 100, timeLimitMs: 5000 }) };
}

const store: MiniStmt[] = [{ label: 'f', ...X.storeRbxToRax }, X.ret];
const load: MiniStmt[] = [{ label: 'f', ...X.loadRaxToRbx }, X.ret];
const storeWithFixup: MiniStmt[] = [{ label: 'f', ...X.storeRbxToRax }, X.ret, { label: 'fixup', ...X.ret }];

describe('non-canonical addresses', () => {
  it('canonical means bits 63:47 equal, for the first and the last byte of the access', () => {
    expect(isCanonicalAccess(0x00007fffffffffffn, 1)).toBe(true);
    expect(isCanonicalAccess(0xffff800000000000n, 8)).toBe(true);
    expect(isCanonicalAccess(0x0000800000000000n, 1)).toBe(false);
    expect(isCanonicalAccess(0x8000000000000000n, 8)).toBe(false);
    expect(isCanonicalAccess(0x00007ffffffffff8n, 8)).toBe(true);
    expect(isCanonicalAccess(0x00007ffffffffff9n, 8)).toBe(false);
  });

  it('a store through a non-canonical pointer is a #GP oops at the store, not a wild write', () => {
    const { run: r } = run(miniImage(store), 0x8000000000000000n);
    expect(r.stop).toMatchObject({ kind: 'oops', vector: 13, vectorName: 'GP', address: 0xffffffff81000000n });
    expect((r.stop as { cause: string }).cause).toMatch(/non-canonical address 0x8000000000000000/);
  });

  it('so is a load, and a store whose last byte leaves the canonical range', () => {
    expect(run(miniImage(load), 0x0000800000000000n).run.stop).toMatchObject({ kind: 'oops', vector: 13 });
    expect(run(miniImage(store), 0x00007ffffffffff9n).run.stop).toMatchObject({ kind: 'oops', vector: 13 });
  });

  it('an unmapped canonical address is still a page fault (a wild access)', () => {
    expect(run(miniImage(store), 0x00007ffffffff000n).run.stop).toMatchObject({ kind: 'fault', access: 'write', address: 0x00007ffffffff000n });
  });

  it('with an EX_TYPE_FAULT entry, execution continues at the fixup with RAX = 13 (X86_TRAP_GP)', () => {
    const { m, run: r } = run(miniImage(storeWithFixup, { extable: [['f', 'fixup', EX_TYPE_FAULT]] }), 0xdead000000000000n);
    expect(r.stop.kind).toBe('returned');
    expect(r.fixups).toEqual([{ vector: 13, address: 0xffffffff81000000n, fixup: 0xffffffff81000004n }]);
    m.regs.read();
    expect(m.regs.values[0]).toBe(13n);
  });
});

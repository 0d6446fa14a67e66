/**
 * Harness stubs: symbols the running kernel would provide and the TDX
 * assembly references, bound by seamlab's linker to a few bytes of its own
 * so that the image is complete. Anything else left undefined is an error.
 *
 * Bytes are fixed, hand-checked encodings (not run through the encoder):
 *   c3 cc   ret; int3     (the return thunk returns like `ret`)
 *   0f 0b   ud2           (a noreturn function must never come back; the
 *                          machine stops when it reaches the stub address)
 *   31 c0 c3  xor %eax,%eax; ret
 */
import type { HarnessStub } from './types.js';

export interface StubDefinition {
  kind: HarnessStub['kind'];
  description: string;
  bytes: readonly number[];
  /** The instructions the bytes encode (listings and the source map). */
  text: string;
}

/** Source-map file name of stub bytes (they have no kernel source). */
export const STUB_SOURCE = '<seamlab stubs>';

export const KERNEL_STUBS: ReadonlyMap<string, StubDefinition> = new Map([
  [
    '__x86_return_thunk',
    {
      kind: 'return-thunk',
      description: 'return thunk of CONFIG_(MITIGATION_)RETHUNK kernels (arch/x86/lib/retpoline.S); `RET` jumps here, and it returns like `ret`',
      bytes: [0xc3, 0xcc],
      text: 'ret; int3',
    },
  ],
  [
    '__tdx_hypercall_failed',
    {
      kind: 'noreturn',
      description: 'guest panic path of __tdx_hypercall (arch/x86/coco/tdx/tdx.c): "TDVMCALL failed. TDX module bug?"; never returns',
      bytes: [0x0f, 0x0b],
      text: 'ud2',
    },
  ],
  [
    'BUG_func',
    {
      kind: 'noreturn',
      description: 'target of ALT_CALL_INSTR in ALTERNATIVE call sites (arch/x86/kernel/alternative.c); reaching it is a kernel BUG',
      bytes: [0x0f, 0x0b],
      text: 'ud2',
    },
  ],
]);

/** Stubs are 16-byte aligned inside their section. */
export const STUB_ALIGN = 16;
export const STUB_SECTION = '.seamlab.stubs';

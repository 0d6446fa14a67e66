/**
 * The TDX instructions' encodings, defined once (Intel TDX Module base
 * spec, "SEAM instructions"; SDM Vol. 2 for TDCALL): the encoder emits them,
 * the disassembler names them (Capstone 5 prints SEAMCALL as `encls` and
 * stops at TDCALL), and the machine traps SEAMCALL/TDCALL at them.
 */
export const TDX_OPCODES = {
  seamcall: [0x66, 0x0f, 0x01, 0xcf],
  tdcall: [0x66, 0x0f, 0x01, 0xcc],
  seamret: [0x66, 0x0f, 0x01, 0xcd],
  seamops: [0x66, 0x0f, 0x01, 0xce],
} as const satisfies Record<string, readonly number[]>;
export type TdxMnemonic = keyof typeof TDX_OPCODES;

/** Every TDX instruction is 4 bytes long (66 0F 01 /r-less). */
export const TDX_INSN_LENGTH = 4;

/** The TDX mnemonic whose encoding starts `bytes` at `at`, if any. */
export function matchTdxOpcode(bytes: Uint8Array, at = 0): TdxMnemonic | undefined {
  for (const [name, enc] of Object.entries(TDX_OPCODES) as [TdxMnemonic, readonly number[]][]) {
    if (enc.every((b, i) => bytes[at + i] === b)) return name;
  }
  return undefined;
}

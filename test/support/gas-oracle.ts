/**
 * GNU as + ld as the encoder's oracle: assembles a list of instructions,
 * each behind its own label `L_<n>`, links them at a fixed address (so
 * relocated operands get their final values, exactly like seamlab's image),
 * and splits the linked bytes per instruction using the label addresses.
 * Lines GNU as rejects are recorded with its message and dropped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GasOutcome {
  /** Bytes per instruction; undefined when GNU as rejected it. */
  bytes: (Uint8Array | undefined)[];
  /** Address of each instruction (its label). */
  address: bigint[];
  /** GNU as's error per rejected instruction. */
  rejected: Map<number, string>;
  /** GNU as's warnings per instruction (e.g. "0x1ffff shortened to 0xffff"). */
  warnings: Map<number, string[]>;
  /** `L_<n>` → address. */
  labels: Map<string, bigint>;
}

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Assembles and links `lines` with `.text` at `base`. One `as` and one `ld` run (two `as` runs when some lines fail). */
export function assembleWithGas(lines: readonly string[], base: bigint, trailer: readonly string[] = []): GasOutcome {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-gas-'));
  try {
    const src = join(dir, 'f.s');
    const obj = join(dir, 'f.o');
    const exe = join(dir, 'f');
    const bin = join(dir, 'f.bin');
    const HEADER = 1; // lines before the first instruction
    const body = (skip: Set<number>) =>
      `.text\n${lines.map((l, i) => (skip.has(i) ? `L_${i}:` : `L_${i}: ${l}`)).join('\n')}\nL_end: nop\n${trailer.join('\n')}\n`;
    const rejected = new Map<number, string>();
    const warnings = new Map<number, string[]>();
    const parseDiag = (stderr: string) => {
      for (const m of stderr.matchAll(/^.*?\.s:(\d+): (Error|Warning): (.*)$/gm)) {
        const i = Number(m[1]) - HEADER - 1;
        if (i < 0 || i >= lines.length) continue;
        if (m[2] === 'Error') rejected.set(i, m[3]!);
        else warnings.set(i, [...(warnings.get(i) ?? []), m[3]!]);
      }
    };
    writeFileSync(src, body(new Set()));
    let r = run('as', ['--64', '-o', obj, src]);
    parseDiag(r.stderr);
    if (r.status !== 0) {
      if (rejected.size === 0) throw new Error(`as failed without per-line errors:\n${r.stderr.slice(0, 2000)}`);
      warnings.clear();
      writeFileSync(src, body(new Set(rejected.keys())));
      const errs = new Map(rejected);
      r = run('as', ['--64', '-o', obj, src]);
      parseDiag(r.stderr);
      for (const [k, v] of errs) rejected.set(k, v);
      if (r.status !== 0) throw new Error(`as failed after dropping rejected lines:\n${r.stderr.slice(0, 2000)}`);
    }
    const l = run('ld', ['-o', exe, `-Ttext=0x${base.toString(16)}`, '-e', 'L_0', '--no-relax', '-z', 'noexecstack', obj]);
    if (l.status !== 0) throw new Error(`ld failed:\n${l.stderr.slice(0, 2000)}`);
    const n = run('nm', ['-n', exe]);
    const labels = new Map<string, bigint>();
    for (const m of n.stdout.matchAll(/^([0-9a-f]+) [tT] (L_\w+)$/gm)) labels.set(m[2]!, BigInt('0x' + m[1]!));
    const o = run('objcopy', ['-O', 'binary', '--only-section=.text', exe, bin]);
    if (o.status !== 0) throw new Error(`objcopy failed:\n${o.stderr}`);
    const text = readFileSync(bin);
    const address: bigint[] = [];
    const bytes: (Uint8Array | undefined)[] = [];
    for (let i = 0; i < lines.length; i++) {
      const a = labels.get(`L_${i}`)!;
      const next = labels.get(i + 1 < lines.length ? `L_${i + 1}` : 'L_end')!;
      address.push(a);
      bytes.push(rejected.has(i) ? undefined : Uint8Array.from(text.subarray(Number(a - base), Number(next - base))));
    }
    return { bytes, address, rejected, warnings, labels };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

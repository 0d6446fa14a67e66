/**
 * The asm-generic wrapper headers Kbuild writes before compiling anything
 * (scripts/Makefile.asm-generic, Makefile.asm-headers in newer trees): for
 * every header the architecture lists as `generic-y`, and for every
 * `mandatory-y` header of include/(uapi/)asm-generic/Kbuild that the
 * architecture does not provide itself (nor generates), a one-line
 * arch/x86/include/generated/(uapi/)asm/<name> containing
 * `#include <asm-generic/<name>>`.
 */
import type { ReadonlyFs } from '../support/vfs.js';

interface KbuildLists {
  generic: string[];
  generated: string[];
  mandatory: string[];
}

/** Reads `generic-y += x.h` style lists from a Kbuild file (`-$(CONFIG_X)` resolved with the configuration). */
function readKbuild(text: string | undefined, config: Map<string, string>): KbuildLists {
  const out: KbuildLists = { generic: [], generated: [], mandatory: [] };
  if (text === undefined) return out;
  for (const raw of text.split('\n')) {
    const m = /^\s*(generic|generated|mandatory)-(y|\$\(CONFIG_([A-Za-z0-9_]+)\))\s*\+?=\s*(.*?)\s*(#.*)?$/.exec(raw);
    if (!m) continue;
    const on = m[2] === 'y' || config.get(m[3]!) === 'y';
    if (!on) continue;
    const list = m[1] as keyof KbuildLists;
    for (const w of m[4]!.split(/\s+/)) if (w) out[list].push(w);
  }
  return out;
}

export interface GeneratedWrapper {
  path: string;
  content: string;
}

/** The wrapper headers for arch/x86 (asm and uapi/asm). */
export function asmGenericWrappers(fs: ReadonlyFs, config: Map<string, string>): GeneratedWrapper[] {
  const out: GeneratedWrapper[] = [];
  const sets = [
    { src: 'arch/x86/include/asm', obj: 'arch/x86/include/generated/asm', generic: 'include/asm-generic' },
    { src: 'arch/x86/include/uapi/asm', obj: 'arch/x86/include/generated/uapi/asm', generic: 'include/uapi/asm-generic' },
  ];
  for (const s of sets) {
    const arch = readKbuild(fs.readFile(`${s.src}/Kbuild`), config);
    const gen = readKbuild(fs.readFile(`${s.generic}/Kbuild`), config);
    const mandatory = gen.mandatory.filter((f) => !arch.generated.includes(f));
    const wanted = new Set(arch.generic);
    for (const f of mandatory) if (!fs.exists(`${s.src}/${f}`)) wanted.add(f);
    for (const f of [...wanted].sort()) out.push({ path: `${s.obj}/${f}`, content: `#include <asm-generic/${f}>\n` });
  }
  return out;
}

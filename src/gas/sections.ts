/**
 * ELF sections as GNU as names and flags them (obj-elf.c
 * `obj_elf_section`/`obj_elf_change_section` with bfd's table of special
 * section names): `.text`, `.text.*` are "ax"; `.data*` "aw"; `.bss*`
 * "aw" nobits; `.rodata*` "a"; `.note*` are notes; any other name without
 * flags is neither allocated, writable nor executable. Flags given on the
 * directive are added to a special section's own.
 */
import type { Section, SectionType } from './model.js';

export interface SectionSpec {
  name: string;
  /** The flags string as written (without quotes), e.g. "ax"; undefined when absent. */
  flagsText?: string;
  /** @progbits etc. without the sigil. */
  type?: string;
}

interface Special {
  match: (name: string) => boolean;
  flags: string;
  type: SectionType;
}

const prefix = (p: string) => (n: string) => n === p || n.startsWith(p + '.');

const SPECIAL: Special[] = [
  { match: prefix('.text'), flags: 'ax', type: 'progbits' },
  { match: (n) => n === '.init' || n === '.fini', flags: 'ax', type: 'progbits' },
  { match: (n) => prefix('.data')(n) || n === '.data1', flags: 'aw', type: 'progbits' },
  { match: prefix('.bss'), flags: 'aw', type: 'nobits' },
  { match: (n) => prefix('.rodata')(n) || n === '.rodata1', flags: 'a', type: 'progbits' },
  { match: prefix('.tdata'), flags: 'awT', type: 'progbits' },
  { match: prefix('.tbss'), flags: 'awT', type: 'nobits' },
  { match: prefix('.init_array'), flags: 'aw', type: 'init_array' },
  { match: prefix('.fini_array'), flags: 'aw', type: 'fini_array' },
  { match: (n) => n === '.eh_frame', flags: 'a', type: 'progbits' },
  { match: (n) => n.startsWith('.note'), flags: '', type: 'note' },
];

const TYPES: Record<string, SectionType> = {
  progbits: 'progbits',
  nobits: 'nobits',
  note: 'note',
  init_array: 'init_array',
  fini_array: 'fini_array',
};

export class SectionSpecError extends Error {}

/** Builds a new section from a spec (the caller checks for an existing one). */
export function sectionForName(spec: SectionSpec, index: number): Section {
  const special = SPECIAL.find((s) => s.match(spec.name));
  let type: SectionType = special?.type ?? 'progbits';
  if (spec.type !== undefined) {
    const t = TYPES[spec.type.toLowerCase()];
    if (!t) throw new SectionSpecError(`unrecognized section type \`${spec.type}'`);
    type = t;
  }
  const letters = (special?.flags ?? '') + (spec.flagsText ?? '');
  const extra: string[] = [];
  for (const c of spec.flagsText ?? '') {
    if (!/[awxMSGTodeR?y0-9]/.test(c)) throw new SectionSpecError(`unknown section attribute \`${c}' in "${spec.flagsText}"`);
    if (!'awx'.includes(c)) extra.push(c);
  }
  return {
    name: spec.name,
    index,
    flags: { alloc: letters.includes('a'), write: letters.includes('w'), exec: letters.includes('x') },
    type,
    extraFlags: extra.join(''),
    frags: [],
    align: 1,
  };
}

/** Parses the operands of `.section`/`.pushsection`: name, optional "flags", optional @type, rest ignored. */
export function parseSectionArgs(text: string): SectionSpec & { subsection?: string } {
  let i = 0;
  const skip = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  skip();
  let name: string;
  if (text[i] === '"') {
    const end = text.indexOf('"', i + 1);
    if (end < 0) throw new SectionSpecError('missing closing quote in section name');
    name = text.slice(i + 1, end);
    i = end + 1;
  } else {
    const start = i;
    while (i < text.length && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++;
    name = text.slice(start, i);
  }
  if (name === '') throw new SectionSpecError('missing section name');
  skip();
  const spec: SectionSpec & { subsection?: string } = { name };
  if (i >= text.length) return spec;
  if (text[i] !== ',') {
    // `.pushsection name subsection`
    spec.subsection = text.slice(i).trim();
    return spec;
  }
  i++;
  skip();
  if (text[i] === '"') {
    const end = text.indexOf('"', i + 1);
    if (end < 0) throw new SectionSpecError('missing closing quote in section flags');
    spec.flagsText = text.slice(i + 1, end);
    i = end + 1;
  } else if (text[i] === '#') {
    // Solaris-style #alloc,#write,#execinstr
    let flags = '';
    while (text[i] === '#') {
      const m = /^#([a-z]+)/.exec(text.slice(i));
      if (!m) break;
      flags += m[1] === 'alloc' ? 'a' : m[1] === 'write' ? 'w' : m[1] === 'execinstr' ? 'x' : '';
      i += m[0].length;
      skip();
      if (text[i] === ',' && text[i + 1] === '#') i++;
      skip();
    }
    spec.flagsText = flags;
  } else {
    throw new SectionSpecError(`bad section flags \`${text.slice(i).trim()}'; write them in quotes, e.g. "ax"`);
  }
  skip();
  if (text[i] === ',') {
    i++;
    skip();
    const m = /^[@%]?"?([A-Za-z_0-9]+)"?/.exec(text.slice(i));
    if (m) spec.type = m[1];
  }
  return spec;
}

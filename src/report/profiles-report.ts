/**
 * How `seamlab profiles` shows the kconfig profiles: the features each one
 * sets, the option names each feature maps to, and, for a revision, what
 * every profile sets in that tree (text or the JSON document).
 */
import { documentHeader } from './json-schema.js';

export interface ProfileInfo { name: string; description: string; features: Record<string, boolean> }

export interface ProfileInTree {
  name: string;
  /** Per feature: the option the tree uses for it (null when the tree has none) and its value. */
  options: Record<string, { option: string | null; value: string }>;
  /** Derived options that matter to the TDX assembly. */
  derived: Record<string, string>;
  asmOffsets: { computed: number; omitted: number };
  notes: string[];
}

export interface ProfilesReport {
  profiles: ProfileInfo[];
  /** Feature → option names, the first one the tree defines is used. */
  featureOptions: Record<string, string[]>;
  revision?: { name: string; profiles: ProfileInTree[] };
}

export function formatProfiles(r: ProfilesReport): string {
  const lines: string[] = [];
  const pad = ''.padEnd(9);
  if (!r.revision) {
    for (const p of r.profiles) {
      lines.push(`${p.name.padEnd(9)} ${p.description}`);
      lines.push(`${pad} features: ${Object.entries(p.features).map(([f, on]) => (on ? f : `no-${f}`)).join(' ')}`);
    }
    lines.push('', 'Feature option names (the first one the tree defines is used):');
    for (const [f, names] of Object.entries(r.featureOptions)) lines.push(`  ${f.padEnd(14)} ${names.map((n) => `CONFIG_${n}`).join(' | ')}`);
    lines.push('', 'Run `seamlab profiles REV` to see what each profile sets in a revision.');
    return lines.join('\n');
  }
  lines.push(r.revision.name);
  for (const p of r.revision.profiles) {
    const set = Object.entries(p.options).map(([f, o]) => (o.option === null ? `${f}=absent` : `CONFIG_${o.option}=${o.value}`)).join(' ');
    lines.push(`  ${p.name.padEnd(9)} ${set}`);
    const derived = Object.entries(p.derived).map(([o, v]) => `CONFIG_${o}=${v}`);
    if (derived.length) lines.push(`  ${pad} derived: ${derived.join(' ')}`);
    lines.push(`  ${pad} asm-offsets.h: ${p.asmOffsets.computed} entries computed, ${p.asmOffsets.omitted} left out`);
    for (const n of p.notes) lines.push(`  ${pad} note: ${n}`);
  }
  return lines.join('\n');
}

export function profilesDocument(r: ProfilesReport): Record<string, unknown> {
  return { ...documentHeader('profiles'), ...r };
}

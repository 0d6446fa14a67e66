/**
 * How revisions are shown: their entry points with prototypes and the C
 * types of their parameters, and their provenance (base tree, patches, how
 * each file and hunk applied).
 */
import { formatPos } from '../support/source-location.js';
import type { CType, EntryFunction, PatchApplication, Provenance, Revision, StructLayout } from '../intake/types.js';

function structSummary(l: StructLayout): string {
  return `${l.isUnion ? 'union' : 'struct'} ${l.name} (${l.size} bytes: ${l.fields.map((f) => `${f.name}@${f.offset}`).join(' ')}; ${formatPos(l.definedAt)})`;
}

function typeSummary(t: CType): string {
  switch (t.kind) {
    case 'int':
      return t.name;
    case 'pointer':
      return t.to.kind === 'struct' ? `→ ${structSummary(t.to.layout)}` : `${t.spelled} *`;
    case 'struct':
      return structSummary(t.layout);
    case 'opaque-struct':
      return `struct ${t.name}`;
    case 'array':
      return `${typeSummary(t.of)}[${t.length}]`;
    case 'void':
      return 'void';
  }
}

export function formatFunctions(fns: EntryFunction[], indent = '  '): string[] {
  if (fns.length === 0) return [`${indent}functions  none (no SYM_FUNC_START … TDX_MODULE_CALL … SYM_FUNC_END under arch/x86)`];
  const lines = [`${indent}functions`];
  for (const f of fns) {
    const args = Object.entries(f.moduleCall.args).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`${indent}  ${f.name}  ${f.kind}  TDX_MODULE_CALL ${args}  ${formatPos(f.definedAt)}`);
    lines.push(`${indent}    ${f.abi.prototype}  ${formatPos(f.abi.declaredAt)}`);
    for (const p of f.abi.params) lines.push(`${indent}    ${p.register.padEnd(3)} ${p.name}: ${typeSummary(p.type)}`);
    lines.push(`${indent}    rax return: ${typeSummary(f.abi.returns)}`);
  }
  return lines;
}

function patchHeader(p: PatchApplication): string {
  const tags = [p.version !== undefined ? `v${p.version}` : undefined, p.position ? `${p.position.index}/${p.position.total}` : undefined, p.format, p.transferEncoding && p.transferEncoding !== 'none' ? p.transferEncoding : undefined].filter(Boolean);
  const msg = p.format === "mbox" && p.messageIndex !== undefined ? ` message ${p.messageIndex}` : "";
  return `${p.source}${msg}${p.subject ? `  "${p.subject}"` : ''}${tags.length ? `  (${tags.join(', ')})` : ''}`;
}

export function formatProvenance(rev: Revision, detailed: boolean, indent = '  '): string[] {
  const lines: string[] = [];
  const b = rev.provenance.base;
  lines.push(b.kind === 'builtin' ? `${indent}base       ${b.name} = ${b.package} ${b.version}, tdxcall.S ${b.tdxcallBlob.slice(0, 12)} (${b.dir})` : `${indent}base       tree ${b.dir}`);
  if (rev.provenance.patches.length === 0) lines.push(`${indent}patches    none`);
  rev.provenance.patches.forEach((p, k) => {
    lines.push(`${indent}patch ${k + 1}    ${patchHeader(p)}`);
    const pad = `${indent}           `;
    if (p.whitespaceDamaged) {
      lines.push(`${pad}whitespace-damaged source (web-archive copy): hunks recovered, whitespace compared loosely`);
      if (detailed) for (const e of p.damageEvidence ?? []) lines.push(`${pad}  evidence: ${e}`);
    }
    if (detailed && (p.author || p.date)) lines.push(`${pad}from ${[p.author, p.date].filter(Boolean).join(', ')}`);
    if (detailed) for (const n of p.notes ?? []) lines.push(`${pad}note: ${n}`);
    for (const f of p.files) {
      const blob = f.blobCheck ? `  blob ${f.blobCheck}` : '';
      const from = f.from ? ` (from ${f.from})` : '';
      const content = f.contentMatch ? `  content ${f.contentMatch}` : '';
      const at = detailed && f.at ? `  (${formatPos(f.at)})` : '';
      lines.push(`${pad}${f.mode.padEnd(22)} ${f.path}${from}${content}${blob}${at}`);
      if (detailed || f.mode === 'not-applied') for (const n of f.notes) lines.push(`${pad}  ${n}`);
    }
  });
  for (const s of rev.provenance.skipped ?? []) lines.push(`${indent}skipped    ${s.source} message ${s.messageIndex}${s.subject ? ` "${s.subject}"` : ''}: ${s.reason}`);
  return lines;
}

/** The revision's provenance without the cache's host path (the tdxcall.S blob id identifies the tree). */
export function provenanceJson(p: Provenance): Record<string, unknown> {
  if (p.base.kind !== 'builtin') return { ...p };
  const { dir: _dir, ...base } = p.base;
  return { ...p, base };
}

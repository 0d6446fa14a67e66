/**
 * Loading one patch file (a mail, an mbox holding a series, a plain diff or a
 * web-archive copy) into parsed diffs, in series order.
 */
import * as fs from 'node:fs';
import { SeamlabError } from '../errors.js';
import { locationAt } from '../support/source-location.js';
import type { LoadedPatch } from './apply.js';
import { parseDiff } from './diff-parse.js';
import { readPatchMessages } from './mail.js';
import { checkPatchFileSize } from './path-safety.js';

export interface LoadedPatchFile {
  patches: LoadedPatch[];
  /** Messages without a diff (cover letters, replies). */
  skipped: { source: string; messageIndex: number; subject?: string; reason: string }[];
  /** Series-level observations (gaps, mixed versions, reordering). */
  notes: string[];
}

/** Reads and parses a patch file; `display` is how messages name it. */
export function loadPatchFile(file: string, display: string): LoadedPatchFile {
  checkPatchFileSize(file, display);
  const raw = fs.readFileSync(file).toString('latin1');
  return parsePatchText(raw, display);
}

/** Parses patch text already in memory (`raw` holds one char per byte). */
export function parsePatchText(raw: string, display: string): LoadedPatchFile {
  const messages = readPatchMessages(raw, display);
  const patches: LoadedPatch[] = [];
  const skipped: LoadedPatchFile['skipped'] = [];
  const notes: string[] = [];
  for (const m of messages) {
    const diff = parseDiff(m.body.split('\n'), m.lineMap);
    if (diff.files.length === 0) {
      const reason = m.subject?.position?.index === 0 ? 'cover letter (no diff)' : m.subject?.isReply ? 'reply without a diff' : 'no diff in this message';
      skipped.push({ source: display, messageIndex: m.messageIndex, subject: m.subject?.subject, reason });
      continue;
    }
    patches.push({ message: m, diff });
  }
  if (patches.length === 0) {
    throw new SeamlabError('PATCH_NO_DIFF', `${display} contains no diff`, 'give a git format-patch mail, an mbox of a series, or a unified diff', {
      where: locationAt({ file: display, line: 1 }),
      notes: skipped.map((s) => `message ${s.messageIndex}${s.subject ? ` "${s.subject}"` : ''}: ${s.reason}`),
    });
  }
  if (patches.length > 1) orderSeries(patches, display, notes);
  return { patches, skipped, notes };
}

/** Puts the patches of an mbox in series order (`[PATCH M/K]`), checking that the numbering makes sense. */
function orderSeries(patches: LoadedPatch[], display: string, notes: string[]): void {
  const positions = patches.map((p) => p.message.subject?.position);
  if (positions.some((p) => p === undefined)) {
    notes.push(`${display}: not every message has a [PATCH M/K] number; applied in file order`);
    return;
  }
  const seen = new Map<number, LoadedPatch>();
  for (const p of patches) {
    const idx = p.message.subject!.position!.index;
    const prev = seen.get(idx);
    if (prev) {
      throw new SeamlabError('PATCH_SERIES_DUPLICATE', `${display} holds two messages numbered ${idx}: messages ${prev.message.messageIndex} and ${p.message.messageIndex}`, 'keep one version of each patch in the mbox (b4 am or git format-patch produce clean series)', {
        where: locationAt(p.message.lineMap[0] ?? { file: display, line: 1 }),
        notes: [`message ${prev.message.messageIndex}: ${prev.message.subject!.subject}`, `message ${p.message.messageIndex}: ${p.message.subject!.subject}`],
      });
    }
    seen.set(idx, p);
  }
  const versions = new Set(patches.map((p) => p.message.subject?.version ?? 1));
  if (versions.size > 1) notes.push(`${display}: messages of several series versions (${[...versions].sort((a, b) => a - b).map((v) => `v${v}`).join(', ')})`);
  const before = patches.map((p) => p.message.messageIndex).join(',');
  patches.sort((a, b) => a.message.subject!.position!.index - b.message.subject!.position!.index);
  if (patches.map((p) => p.message.messageIndex).join(',') !== before) notes.push(`${display}: messages applied in series order (${patches.map((p) => `${p.message.subject!.position!.index}/${p.message.subject!.position!.total}`).join(', ')}), not file order`);
  const total = Math.max(...patches.map((p) => p.message.subject!.position!.total));
  // `total` is what a subject line claims ([PATCH 1/999999999]): the work here is bounded by the messages read, not by it.
  const shown = 20;
  const missing: number[] = [];
  for (let i = 1; i <= total && missing.length < shown; i++) if (!seen.has(i)) missing.push(i);
  const present = [...seen.keys()].filter((i) => i >= 1 && i <= total).length;
  const missingCount = total - present;
  if (missingCount > 0) {
    const list = missingCount > missing.length ? `${missing.join(', ')} … (${missingCount} in all)` : missing.join(', ');
    notes.push(`${display}: the series has ${total} patches; missing ${list}`);
  }
}

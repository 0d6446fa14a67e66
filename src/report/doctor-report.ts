/**
 * How `seamlab doctor` shows its findings: a table (mark, component,
 * detail, and the fix for what is missing) or the JSON document.
 */
import { documentHeader } from './json-schema.js';
import { renderTable } from './table.js';

export interface DoctorItem { name: string; ok: boolean; required: boolean; detail: string; fix?: string }

export function formatDoctor(items: DoctorItem[], width?: number): string {
  const rows = items.map((i) => {
    const mark = i.ok ? 'ok' : i.required ? 'FAIL' : 'miss';
    const fix = !i.ok && i.fix ? `  -> ${i.fix}` : '';
    return [mark, i.name, `${i.detail}${fix}`];
  });
  // No header line: the marks say what each line is.
  return renderTable([{ header: '', minWidth: 4 }, { header: '', minWidth: 8 }, { header: '', minWidth: 20 }], rows, { gap: 1, ...(width !== undefined ? { width } : {}) })
    .slice(1)
    .join('\n');
}

export function doctorDocument(items: DoctorItem[]): Record<string, unknown> {
  return { ...documentHeader('doctor'), ok: items.every((i) => !i.required || i.ok), items };
}

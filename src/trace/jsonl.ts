/**
 * Traces as JSON Lines: writing (one line per record, keys in schema order,
 * so the same trace is the same bytes) and reading with every line checked
 * against the schema (errors name the file, line and field).
 */
import { SeamlabError } from '../errors.js';
import { locationAt } from '../support/source-location.js';
import { TraceLineSchema, type Trace, type TraceHeader, type TraceStep, type TraceSummary } from './format.js';

export function traceLine(record: TraceHeader | TraceStep | TraceSummary): string {
  return JSON.stringify(record);
}

export function serializeTrace(t: Trace): string {
  return [traceLine(t.header), ...t.steps.map(traceLine), traceLine(t.summary)].join('\n') + '\n';
}

export function parseTrace(text: string, file: string): Trace {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let header: TraceHeader | undefined;
  let summary: TraceSummary | undefined;
  const steps: TraceStep[] = [];
  lines.forEach((line, i) => {
    const pos = { file, line: i + 1 };
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new SeamlabError('TRACE_BAD_JSON', `not JSON: ${(e as Error).message}`, 'a trace has one JSON object per line; re-record it with `seamlab trace`', { where: locationAt(pos) });
    }
    const r = TraceLineSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new SeamlabError('TRACE_BAD_RECORD', `${issue.path.join('.') || 'record'}: ${issue.message}`, 'the file is not a seamlab-trace version 1; re-record it with `seamlab trace`', { where: locationAt(pos) });
    }
    const rec = r.data;
    if (rec.type === 'header') {
      if (i !== 0) throw new SeamlabError('TRACE_BAD_ORDER', 'a header after the first line', 'a trace has exactly one header, on its first line', { where: locationAt(pos) });
      header = rec;
    } else if (rec.type === 'step') {
      if (!header || summary) throw new SeamlabError('TRACE_BAD_ORDER', 'a step outside header … summary', 'steps come between the header and the summary', { where: locationAt(pos) });
      if (rec.step !== steps.length) throw new SeamlabError('TRACE_BAD_ORDER', `step ${rec.step} where step ${steps.length} belongs`, 'steps are numbered from 0 without gaps', { where: locationAt(pos) });
      steps.push(rec);
    } else {
      if (!header || summary) throw new SeamlabError('TRACE_BAD_ORDER', 'a second summary or a summary before the header', 'a trace ends with exactly one summary', { where: locationAt(pos) });
      summary = rec;
    }
  });
  if (!header || !summary) {
    throw new SeamlabError('TRACE_INCOMPLETE', `${!header ? 'no header' : 'no summary'} (${lines.length} lines)`, 'the trace was cut short; re-record it with `seamlab trace`', { where: locationAt({ file, line: Math.max(1, lines.length) }) });
  }
  return { header, steps, summary };
}

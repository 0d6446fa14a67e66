/**
 * Reading patch mails: mboxes (`From ` separators), single RFC 2822 mails as
 * `git format-patch` / `git send-email` write them, MIME (quoted-printable,
 * base64, multipart), plain unified diffs, and web-archive text copies whose
 * header block is plain text ("From: Name" / "Date: …" without RFC 2822
 * structure).
 *
 * The result is one `PatchMessage` per mail, with a decoded body and, for
 * every body line, its position in the file, so diff errors can point at
 * `file:line`.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { MAX_MESSAGES_PER_MBOX } from './path-safety.js';

export type PatchSourceFormat = 'mbox' | 'mail' | 'diff' | 'archive-text';

export interface SubjectInfo {
  /** The subject as written (unfolded, RFC 2047 decoded). */
  subject: string;
  /** Without the bracketed tags, e.g. "x86/virt/tdx: Implement the SEAMCALL base function". */
  title: string;
  /** The `vN` tag, when present. */
  version?: number;
  /** `M/K` from the tag, when present. */
  position?: { index: number; total: number };
  /** True when the tags say PATCH (or RFC). */
  isPatch: boolean;
  /** Subject starts with "Re:": a reply, not a patch. */
  isReply: boolean;
}

export interface PatchMessage {
  /** The patch file as the user named it. */
  source: string;
  /** 1-based index of the message within the file. */
  messageIndex: number;
  format: PatchSourceFormat;
  subject?: SubjectInfo;
  from?: string;
  date?: string;
  /** Content-Transfer-Encoding of the body (lower case), or 'none' for text without MIME headers. */
  transferEncoding: string;
  /** Decoded body, LF line ends. */
  body: string;
  /** lineMap[i] is where body line i (0-based) is in the file. */
  lineMap: SourcePos[];
  /** Observations about the header block (archive copies: no RFC 2822 headers, mangled addresses). */
  headerNotes: string[];
}

/** An mbox separator: "From <sender> <asctime date>" (git: "From <sha> Mon Sep 17 00:00:00 2001"; Mailman: "From a at b.org  Wed Apr  6 …"). */
const MBOX_FROM = /^From \S.*?\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d{2}(:\d{2})? +(\S+ +)?\d{4}\s*$/;
const HEADER_LINE = /^([!-9;-~]+):[ \t]?(.*)$/;
const KNOWN_MAIL_HEADERS = new Set(['from', 'subject', 'date', 'to', 'cc', 'message-id', 'return-path', 'received', 'mime-version', 'content-type', 'in-reply-to', 'references', 'delivered-to', 'x-mailer', 'sender']);

/** Splits a patch file's text into messages and decodes each. `text` is the file read as latin1 (one char per byte). */
export function readPatchMessages(bytesAsLatin1: string, source: string): PatchMessage[] {
  const lines = bytesAsLatin1.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first < lines.length && MBOX_FROM.test(lines[first]!)) return readMbox(lines, first, source);
  if (looksLikeHeaderBlock(lines, first)) return [readMail(lines, first, lines.length, source, 1, 'mail')];
  return [readPlainText(lines, first, source)];
}

function readMbox(lines: string[], first: number, source: string): PatchMessage[] {
  const starts: number[] = [];
  for (let i = first; i < lines.length; i++) {
    // A separator is a From_ line followed by a header block (the body of a
    // message may quote such a line; mboxrd escapes those as ">From ").
    if (MBOX_FROM.test(lines[i]!) && (i === first || looksLikeHeaderBlock(lines, i + 1))) starts.push(i);
  }
  if (starts.length > MAX_MESSAGES_PER_MBOX) {
    throw new SeamlabError('PATCH_TOO_MANY_MESSAGES', `${source} holds ${starts.length} messages, over the limit of ${MAX_MESSAGES_PER_MBOX}`, 'split the mbox; seamlab reads one patch series per file');
  }
  return starts.map((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : lines.length;
    const m = readMail(lines, s + 1, end, source, k + 1, 'mbox');
    return m;
  });
}

function looksLikeHeaderBlock(lines: string[], from: number): boolean {
  let sawKnown = false;
  let i = from;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') break;
    if (/^[ \t]/.test(l) && i > from) continue;
    const m = HEADER_LINE.exec(l);
    if (!m) return false;
    if (KNOWN_MAIL_HEADERS.has(m[1]!.toLowerCase())) sawKnown = true;
  }
  return sawKnown && i > from;
}

interface Headers {
  get(name: string): string | undefined;
  all: [string, string][];
}

function parseHeaders(lines: string[], from: number, end: number): { headers: Headers; bodyStart: number } {
  const all: [string, string][] = [];
  let i = from;
  for (; i < end; i++) {
    const l = lines[i]!;
    if (l === '') {
      i++;
      break;
    }
    if (/^[ \t]/.test(l) && all.length > 0) {
      all[all.length - 1]![1] += ' ' + l.trim();
      continue;
    }
    const m = HEADER_LINE.exec(l);
    if (!m) break; // malformed: treat the rest as body
    all.push([m[1]!.toLowerCase(), m[2]!.trim()]);
  }
  return { headers: { all, get: (n) => all.find(([k]) => k === n)?.[1] }, bodyStart: i };
}

function readMail(lines: string[], from: number, end: number, source: string, index: number, format: PatchSourceFormat): PatchMessage {
  const { headers, bodyStart } = parseHeaders(lines, from, end);
  const notes: string[] = [];
  const rawSubject = headers.get('subject');
  const subject = rawSubject !== undefined ? parseSubject(decodeEncodedWords(rawSubject)) : undefined;
  const fromHdr = headers.get('from');
  if (fromHdr && /@x{3,}\b/i.test(fromHdr)) notes.push('sender address is mangled (web-archive copy)');
  const body = decodeEntity(lines, headers, bodyStart, end, source, index, format === 'mbox');
  return {
    source,
    messageIndex: index,
    format,
    subject,
    from: fromHdr !== undefined ? decodeEncodedWords(fromHdr) : undefined,
    date: headers.get('date'),
    transferEncoding: body.encoding,
    body: body.text,
    lineMap: body.map,
    headerNotes: notes,
  };
}

/**
 * Text without RFC 2822 headers: a plain diff, or a web-archive copy whose
 * first line is the subject followed by "From: Name" / "Date: …" lines.
 */
function readPlainText(lines: string[], first: number, source: string): PatchMessage {
  const notes: string[] = [];
  let subject: SubjectInfo | undefined;
  let from: string | undefined;
  let date: string | undefined;
  const firstLine = lines[first] ?? '';
  const isDiff = /^(diff --git |diff -|--- |Index: )/.test(firstLine);
  if (!isDiff) {
    if (/^\[[^\]]*\]/.test(firstLine) || /^(Subject|From|Date):/.test(firstLine)) {
      notes.push('no RFC 2822 header block (text copied from a web archive)');
    }
    if (/^\[[^\]]*\]/.test(firstLine)) subject = parseSubject(firstLine.trim());
    // Pseudo-headers in the first lines, before the message text starts.
    for (let i = first; i < Math.min(lines.length, first + 12); i++) {
      const m = /^(From|Date|Subject):\s*(.*)$/.exec(lines[i]!);
      if (!m) continue;
      if (m[1] === 'From') from ??= m[2]!;
      else if (m[1] === 'Date') date ??= m[2]!;
      else subject ??= parseSubject(m[2]!);
    }
  }
  const all = lines.join('\n');
  if (/@x{3,}\b/i.test(all)) notes.push('e-mail addresses are mangled (…@xxxxxxxxx), as web archives do');
  const text = decodeCharset(Buffer.from(all, 'latin1'), 'utf-8');
  return {
    source,
    messageIndex: 1,
    format: isDiff ? 'diff' : 'archive-text',
    subject,
    from,
    date,
    transferEncoding: 'none',
    body: text,
    lineMap: lines.map((_, i) => ({ file: source, line: i + 1 })),
    headerNotes: notes,
  };
}

// ---- MIME bodies ------------------------------------------------------------

interface DecodedBody { text: string; map: SourcePos[]; encoding: string }

function contentTypeParam(ct: string | undefined, name: string): string | undefined {
  if (!ct) return undefined;
  const m = new RegExp(`;\\s*${name}\\s*=\\s*("([^"]*)"|[^;\\s]+)`, 'i').exec(ct);
  return m ? (m[2] ?? m[1]!) : undefined;
}

function decodeEntity(lines: string[], headers: Headers, start: number, end: number, source: string, index: number, mboxrd: boolean): DecodedBody {
  const ct = headers.get('content-type');
  const mediaType = (ct ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (mediaType.startsWith('multipart/')) {
    const boundary = contentTypeParam(ct, 'boundary');
    if (!boundary) {
      throw new SeamlabError('MAIL_BAD_MIME', `message ${index} is ${mediaType} without a boundary`, 'save the mail in its original form (raw source / mbox)', { where: locationAt({ file: source, line: start }) });
    }
    return decodeMultipart(lines, start, end, boundary, source, index, mboxrd);
  }
  const enc = (headers.get('content-transfer-encoding') ?? '8bit').trim().toLowerCase();
  const charset = contentTypeParam(ct, 'charset') ?? 'utf-8';
  const body = lines.slice(start, end).map((l) => (mboxrd && /^>+From /.test(l) ? l.slice(1) : l));
  // A mail's last line in an mbox is the blank separator before the next From_.
  while (body.length > 0 && body[body.length - 1] === '' && end < lines.length) body.pop();
  return decodeTransfer(body, start + 1, enc, charset, source, index);
}

function decodeMultipart(lines: string[], start: number, end: number, boundary: string, source: string, index: number, mboxrd: boolean): DecodedBody {
  const delim = `--${boundary}`;
  const parts: [number, number][] = [];
  let cur = -1;
  for (let i = start; i < end; i++) {
    const l = lines[i]!;
    if (l === delim || l === `${delim}--` || l.startsWith(delim + ' ')) {
      if (cur >= 0) parts.push([cur, i]);
      cur = l.startsWith(`${delim}--`) ? -1 : i + 1;
      if (l.startsWith(`${delim}--`)) break;
    }
  }
  if (cur >= 0) parts.push([cur, end]);
  const texts: DecodedBody[] = [];
  for (const [s, e] of parts) {
    const { headers, bodyStart } = parseHeaders(lines, s, e);
    const type = (headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
    // Patches travel as text/plain, text/x-patch, text/x-diff; skip HTML alternatives and real binaries.
    if (!type.startsWith('text/') || type === 'text/html') continue;
    texts.push(decodeEntity(lines, headers, bodyStart, e, source, index, mboxrd));
  }
  return {
    text: texts.map((t) => t.text).join('\n'),
    map: texts.flatMap((t) => t.map),
    encoding: texts.map((t) => t.encoding).join('+') || 'multipart',
  };
}

function decodeTransfer(body: string[], firstLine: number, enc: string, charset: string, source: string, index: number): DecodedBody {
  if (enc === '7bit' || enc === '8bit' || enc === 'binary') {
    const text = decodeCharset(Buffer.from(body.join('\n'), 'latin1'), charset);
    return { text, map: body.map((_, i) => ({ file: source, line: firstLine + i })), encoding: enc };
  }
  if (enc === 'quoted-printable') {
    // Decoded lines are joined across soft breaks ("=" at line end); each
    // decoded line maps to the source line where it starts.
    const out: string[] = [];
    const map: SourcePos[] = [];
    let bytes: number[] = [];
    let startLine = firstLine;
    for (let i = 0; i < body.length; i++) {
      let l = body[i]!;
      if (bytes.length === 0) startLine = firstLine + i;
      let soft = false;
      if (l.endsWith('=')) {
        soft = true;
        l = l.slice(0, -1);
      } else {
        l = l.replace(/[ \t]+$/, ''); // transport-added trailing white space
      }
      for (let j = 0; j < l.length; j++) {
        const c = l.charCodeAt(j);
        if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(l.slice(j + 1, j + 3))) {
          bytes.push(parseInt(l.slice(j + 1, j + 3), 16));
          j += 2;
        } else {
          bytes.push(c & 0xff);
        }
      }
      if (!soft) {
        out.push(decodeCharset(Buffer.from(bytes), charset));
        map.push({ file: source, line: startLine });
        bytes = [];
      }
    }
    if (bytes.length > 0) {
      out.push(decodeCharset(Buffer.from(bytes), charset));
      map.push({ file: source, line: startLine });
    }
    // Decoded text may itself hold several lines per source line (=0A).
    const lines: string[] = [];
    const lmap: SourcePos[] = [];
    out.forEach((t, k) => {
      for (const piece of t.split('\n')) {
        lines.push(piece.endsWith('\r') ? piece.slice(0, -1) : piece);
        lmap.push(map[k]!);
      }
    });
    return { text: lines.join('\n'), map: lmap, encoding: enc };
  }
  if (enc === 'base64') {
    const joined = body.join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(joined)) {
      throw new SeamlabError('MAIL_BAD_BASE64', `message ${index} has a base64 body with invalid characters`, 'save the mail in its original form (raw source / mbox)', { where: locationAt({ file: source, line: firstLine }) });
    }
    const text = decodeCharset(Buffer.from(joined, 'base64'), charset).replace(/\r\n/g, '\n');
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    // Positions inside a base64 body cannot be mapped to file lines: point at the body.
    return { text: lines.join('\n'), map: lines.map(() => ({ file: source, line: firstLine })), encoding: enc };
  }
  throw new SeamlabError('MAIL_BAD_MIME', `message ${index} uses the unknown Content-Transfer-Encoding ${JSON.stringify(enc)}`, 'save the mail in its original form (raw source / mbox)', { where: locationAt({ file: source, line: firstLine - 1 }) });
}

function decodeCharset(buf: Buffer, charset: string): string {
  const cs = charset.toLowerCase();
  try {
    return new TextDecoder(cs === 'us-ascii' ? 'utf-8' : cs).decode(buf);
  } catch {
    return new TextDecoder('utf-8').decode(buf);
  }
}

/** Decodes RFC 2047 encoded words (=?charset?Q|B?…?=); whitespace between adjacent words is dropped. */
export function decodeEncodedWords(s: string): string {
  const word = /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g;
  const joined = s.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(word, (_m, cs: string, kind: string, data: string) => {
    let bytes: Buffer;
    if (kind.toUpperCase() === 'B') bytes = Buffer.from(data, 'base64');
    else {
      const arr: number[] = [];
      for (let i = 0; i < data.length; i++) {
        const c = data[i]!;
        if (c === '_') arr.push(0x20);
        else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
          arr.push(parseInt(data.slice(i + 1, i + 3), 16));
          i += 2;
        } else arr.push(c.charCodeAt(0) & 0xff);
      }
      bytes = Buffer.from(arr);
    }
    return decodeCharset(bytes, cs.split('*')[0]!);
  });
}

/** Parses "[RFC PATCH v3 03/21] subsystem: title" (also "Re: …", "[PATCH]", "[PATCH 2/3]"). */
export function parseSubject(subject: string): SubjectInfo {
  let rest = subject.trim();
  let isReply = false;
  while (/^(re|aw|fwd?):\s*/i.test(rest)) {
    isReply ||= /^(re|aw)/i.test(rest);
    rest = rest.replace(/^(re|aw|fwd?):\s*/i, '');
  }
  let version: number | undefined;
  let position: { index: number; total: number } | undefined;
  let isPatch = false;
  for (let m = /^\[([^\]]*)\]\s*/.exec(rest); m; m = /^\[([^\]]*)\]\s*/.exec(rest)) {
    for (const tok of m[1]!.split(/[\s,]+/)) {
      if (/^(PATCH|RFC)$/i.test(tok)) isPatch = true;
      const v = /^v(\d+)$/i.exec(tok);
      if (v) version = Number(v[1]);
      const p = /^(\d+)\/(\d+)$/.exec(tok);
      if (p) position = { index: Number(p[1]), total: Number(p[2]) };
    }
    rest = rest.slice(m[0].length);
  }
  return { subject: subject.trim(), title: rest.trim(), version, position, isPatch, isReply };
}

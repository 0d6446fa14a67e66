/**
 * What revision intake hands to the rest of the pipeline: a read-only file
 * system for the preprocessor, where it came from, and the TDX entry points
 * with their C ABI (discovered from the tree, never from per-revision tables).
 */
import type { SourcePos } from '../support/source-location.js';
import type { ReadonlyFs } from '../support/vfs.js';

/** A C type as the System V harness needs it. */
export type CType =
  | { kind: 'int'; name: string; size: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: 'pointer'; to: CType; /** The spelled pointee, e.g. "struct tdx_module_args". */ spelled: string }
  | { kind: 'struct'; layout: StructLayout }
  /** A struct only declared (`struct x;`): a pointer to it may still be passed. */
  | { kind: 'opaque-struct'; name: string }
  | { kind: 'array'; of: CType; length: number }
  | { kind: 'void' };

export interface StructField {
  name: string;
  offset: number;
  size: number;
  type: CType;
}

export interface StructLayout {
  /** Tag without `struct`, e.g. "tdx_module_args". */
  name: string;
  size: number;
  align: number;
  fields: StructField[];
  /** Where the definition is. */
  definedAt: SourcePos;
  /** True for a union (every field at offset 0). */
  isUnion?: boolean;
}

/** System V AMD64 integer argument registers, in order. */
export const SYSV_ARG_REGS = ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'] as const;
export type SysvArgReg = (typeof SYSV_ARG_REGS)[number];

export interface AbiParam {
  /** Parameter name from the prototype (e.g. "fn", "args", "out"). */
  name: string;
  register: SysvArgReg;
  type: CType;
}

export interface FunctionAbi {
  /** The prototype as written (one line, whitespace collapsed). */
  prototype: string;
  declaredAt: SourcePos;
  returns: CType;
  params: AbiParam[];
}

/** How TDX_MODULE_CALL is invoked for this entry point (from the .S source). */
export interface ModuleCallUse {
  /** The macro's arguments as written, e.g. { host: "1", ret: "1" }. */
  args: Record<string, string>;
  at: SourcePos;
}

export interface EntryFunction {
  name: string;
  /** Tree-relative path of the .S that defines it (SYM_FUNC_START). */
  sourceFile: string;
  definedAt: SourcePos;
  /** The TDX_MODULE_CALL use inside the function. */
  moduleCall: ModuleCallUse;
  /** 'seamcall' for host=1, 'tdcall' for host=0 (as the macro argument says). */
  kind: 'seamcall' | 'tdcall';
  abi: FunctionAbi;
}

/** How a file's hunks applied: 'fuzzy' when some hunk needed fuzz (see its HunkApplication). */
export type ApplyMode = 'exact' | 'fuzzy' | 'whitespace-insensitive' | 'created' | 'deleted' | 'renamed' | 'not-applied';

export interface FileApplication {
  path: string;
  /** For renames, the old path. */
  from?: string;
  mode: ApplyMode;
  /** Where this file's diff starts in the patch (its `diff --git` or `---` line). */
  at?: SourcePos;
  /** Why a hunk was not applied, or what verification found. */
  notes: string[];
  /** Blob-id verification: 'ok', 'mismatch', 'whitespace-damaged', or absent when the patch has no index line. */
  blobCheck?: 'ok' | 'mismatch' | 'whitespace-damaged';
  /** For renames, copies and deletions that carry hunks: how their content matched. */
  contentMatch?: 'exact' | 'fuzzy' | 'whitespace-insensitive';
  /** Each hunk: where it is in the patch and how it went. */
  hunks?: HunkApplication[];
}

export interface HunkApplication {
  /** The `@@ … @@` line. */
  header: string;
  at: SourcePos;
  result: 'exact' | 'whitespace-insensitive' | 'not-applied';
  /** Context lines not compared at each end (GNU patch's "with fuzz N"); applied hunks only. */
  fuzz?: number;
  /** Lines between the header's line and where the hunk applied (GNU patch's "offset N lines"); applied hunks only. */
  offset?: number;
  /** Line of the patched file where the hunk's text starts (GNU patch's "succeeded at N"); applied hunks only. */
  line?: number;
  /** A hunk refused because fuzz was limited: the fuzz it needed. */
  neededFuzz?: number;
  reason?: string;
}

export interface PatchApplication {
  /** The file the patch came from. */
  source: string;
  /** Subject line, e.g. "[PATCH v3 03/21] x86/virt/tdx: Implement the SEAMCALL base function". */
  subject?: string;
  /** From: and Date: as the mail gives them. */
  author?: string;
  date?: string;
  version?: number;
  position?: { index: number; total: number };
  /** True when the text was recognised as whitespace-damaged (web-archive copy). */
  whitespaceDamaged: boolean;
  files: FileApplication[];
  /** Why the text is believed whitespace-damaged (one line each). */
  damageEvidence?: string[];
  /** 1-based message number within the file (mboxes). */
  messageIndex?: number;
  /** How the text was read: 'mbox', 'mail', 'diff' or 'archive-text'. */
  format?: string;
  /** The body's Content-Transfer-Encoding ('8bit', 'quoted-printable', 'base64', 'none', …). */
  transferEncoding?: string;
  /** Other observations (mangled addresses, missing earlier patches of a series, …). */
  notes?: string[];
}

export interface Provenance {
  /** The spec as given, e.g. "v3" or "linux-6.1+fix.patch". */
  spec: string;
  base:
    | {
        kind: 'builtin'; name: string; package: string;
        /** The Debian upload the cached tree came from: informative only (Debian publishes new uploads). */
        version: string;
        /** Git blob id of arch/x86/virt/vmx/tdx/tdxcall.S: what identifies the tree's TDX assembly. */
        tdxcallBlob: string;
        dir: string;
      }
    | { kind: 'tree'; dir: string };
  patches: PatchApplication[];
  /** Messages read but not applied (cover letters, replies without a diff). */
  skipped?: { source: string; messageIndex: number; subject?: string; reason: string }[];
}

export interface Revision {
  /** Display name (the spec, or the built-in name). */
  name: string;
  files: ReadonlyFs;
  provenance: Provenance;
  functions: EntryFunction[];
}

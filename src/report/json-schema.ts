/**
 * The JSON every `seamlab <command> --json` prints, described once with zod.
 *
 * Every document is one object with an envelope: `format` names the command
 * ("seamlab-run", "seamlab-build", …) and `version` the document's format
 * version (JSON_FORMAT_VERSION; bumped when a field changes meaning or goes
 * away). A command that fails prints the same envelope with an `error`
 * object instead of its payload. 64-bit values are "0x…" strings, bytes
 * are hex strings.
 *
 * The schemas check what consumers rely on and let other fields through
 * (`looseObject`), so adding a field is not a format change.
 */
import { z } from 'zod';
import type { ErrorCode } from '../error-codes.js';
import type { SeamlabError } from '../errors.js';
import type { ErrorWhere } from '../support/source-location.js';
import { hex } from '../support/format.js';

export const JSON_FORMAT_VERSION = 1;

/** The commands that print JSON. */
export const JSON_COMMANDS = ['doctor', 'revisions', 'profiles', 'cpp', 'build', 'scenarios', 'run'] as const;
export type JsonCommand = (typeof JSON_COMMANDS)[number];

const hexString = z.string().regex(/^-?0x[0-9a-f]+$/, 'a "0x…" hex string');
const sourcePos = z.looseObject({ file: z.string(), line: z.number().int(), column: z.number().int().optional() });

function envelope<C extends JsonCommand, T extends z.ZodRawShape>(command: C, shape: T) {
  return z.looseObject({ format: z.literal(`seamlab-${command}`), version: z.literal(JSON_FORMAT_VERSION), ...shape });
}

export const errorObjectSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  hint: z.string(),
  where: z.looseObject({ pos: sourcePos }).optional(),
  notes: z.array(z.string()),
});

/** What a command prints with --json when it fails (user error or internal error; code "INTERNAL" for the latter). */
export const errorDocumentSchema = z.looseObject({
  format: z.string().regex(/^seamlab-[a-z]+$/),
  version: z.literal(JSON_FORMAT_VERSION),
  error: errorObjectSchema,
});

export const doctorDocumentSchema = envelope('doctor', {
  ok: z.boolean(),
  items: z.array(z.looseObject({ name: z.string(), ok: z.boolean(), required: z.boolean(), detail: z.string(), fix: z.string().optional() })),
});

const hunkSchema = z.looseObject({
  header: z.string(),
  at: sourcePos,
  result: z.enum(['exact', 'whitespace-insensitive', 'not-applied']),
  fuzz: z.number().int().min(0).optional(),
  offset: z.number().int().optional(),
  reason: z.string().optional(),
});

const patchSchema = z.looseObject({
  source: z.string(),
  subject: z.string().optional(),
  whitespaceDamaged: z.boolean(),
  files: z.array(z.looseObject({ path: z.string(), mode: z.string(), notes: z.array(z.string()), blobCheck: z.string().optional(), hunks: z.array(hunkSchema).optional() })),
});

/** Where a revision came from: the base tree (identified by tdxcall.S's git blob id) and the patches. */
export const provenanceSchema = z.looseObject({
  spec: z.string(),
  base: z.union([
    z.looseObject({ kind: z.literal('builtin'), name: z.string(), package: z.string(), version: z.string(), tdxcallBlob: z.string().regex(/^[0-9a-f]{40}$/) }),
    z.looseObject({ kind: z.literal('tree'), dir: z.string() }),
  ]),
  patches: z.array(patchSchema),
});

const functionSchema = z.looseObject({
  name: z.string(),
  sourceFile: z.string(),
  kind: z.enum(['seamcall', 'tdcall']),
  abi: z.looseObject({ prototype: z.string(), params: z.array(z.looseObject({ name: z.string(), register: z.string() })) }),
});

export const revisionsDocumentSchema = envelope('revisions', {
  revisions: z.array(z.looseObject({
    name: z.string(),
    description: z.string().optional(),
    provenance: provenanceSchema.optional(),
    functions: z.array(functionSchema).optional(),
    error: errorObjectSchema.optional(),
  })),
});

export const profilesDocumentSchema = envelope('profiles', {
  profiles: z.array(z.looseObject({ name: z.string(), description: z.string(), features: z.record(z.string(), z.boolean()) })),
  featureOptions: z.record(z.string(), z.array(z.string())),
  revision: z.looseObject({
    name: z.string(),
    profiles: z.array(z.looseObject({
      name: z.string(),
      options: z.record(z.string(), z.looseObject({ option: z.string().nullable(), value: z.string() })),
      derived: z.record(z.string(), z.string()),
      asmOffsets: z.looseObject({ computed: z.number().int(), omitted: z.number().int() }),
      notes: z.array(z.string()),
    })),
  }).optional(),
});

export const cppDocumentSchema = envelope('cpp', {
  file: z.string(),
  lines: z.array(z.string()),
  origins: z.array(z.looseObject({ pos: sourcePos })),
});

const failedFileSchema = z.looseObject({ file: z.string(), functions: z.array(z.string()), error: errorObjectSchema });

export const buildDocumentSchema = envelope('build', {
  revision: z.string(),
  profile: z.string(),
  config: z.string().optional(),
  files: z.array(z.looseObject({
    file: z.string(),
    functions: z.array(z.string()),
    image: z.looseObject({
      sections: z.array(z.looseObject({ name: z.string(), address: hexString, size: z.number().int(), bytes: z.string() })),
      symbols: z.array(z.looseObject({ name: z.string(), address: hexString })),
      extable: z.array(z.looseObject({ insn: hexString, fixup: hexString })),
      byteMap: z.array(z.looseObject({ address: hexString, size: z.number().int() })),
    }),
  })),
  /** Files that did not build (their error), when the others did. */
  failed: z.array(failedFileSchema),
});

export const scenariosDocumentSchema = envelope('scenarios', {
  scenarios: z.array(z.looseObject({
    name: z.string(),
    summary: z.string(),
    sides: z.array(z.enum(['seamcall', 'tdcall'])),
    requiresOutputPointer: z.boolean(),
    /** For a sequence scenario: how many steps it has (its side is in `sides`). */
    steps: z.number().int().min(1).optional(),
  })),
});

/** A struct layout, given once per document; nested structs refer to others by name. */
export const structLayoutSchema = z.looseObject({
  name: z.string(),
  size: z.number().int(),
  align: z.number().int(),
  isUnion: z.boolean().optional(),
  definedAt: sourcePos,
  fields: z.array(z.looseObject({ name: z.string(), offset: z.number().int(), size: z.number().int(), type: z.looseObject({ kind: z.string() }) })),
});

/** The ABI verdict of one run: `ok*` = checks passed but some scenario inputs could not be passed by this ABI. */
export const ABI_VERDICTS = ['ok', 'ok*', 'FAIL', 'n/a'] as const;
export type AbiVerdict = (typeof ABI_VERDICTS)[number];

/** A physical-memory write by the SEAM side: where, how many bytes, and the bytes as written (hex, two digits a byte). */
export const memWriteSchema = z.looseObject({
  address: hexString,
  length: z.number().int().min(0),
  bytes: z.string().regex(/^(?:[0-9a-f]{2})*$/, 'hex bytes'),
}).refine((w) => w.bytes.length === 2 * w.length, { message: 'bytes must hold `length` bytes' });

/** One SEAMCALL/TDCALL the run served: the leaf, the answer, how execution went on, and what the SEAM side wrote. */
export const seamCallSchema = z.looseObject({
  index: z.number().int(),
  kind: z.enum(['seamcall', 'tdcall']),
  address: hexString,
  leafName: z.string().optional(),
  statusName: z.string().optional(),
  outcome: z.looseObject({ kind: z.enum(['return', 'vmfailinvalid', 'vmfailvalid', 'fault', 'interrupted']) }),
  path: z.enum(['resumed', 'exception-table', 'oops']),
  memWrites: z.array(memWriteSchema),
});

export const runRecordSchema = z.looseObject({
  function: z.string(),
  kind: z.enum(['seamcall', 'tdcall']),
  sourceFile: z.string(),
  prototype: z.string(),
  scenario: z.looseObject({ name: z.string(), summary: z.string(), source: z.string() }),
  call: z.looseObject({
    leaf: hexString,
    leafName: z.string().optional(),
    params: z.array(z.looseObject({
      name: z.string(),
      register: z.string(),
      value: hexString,
      role: z.string(),
      /** The struct passed, by name (its layout is in the document's `structs`). */
      struct: z.looseObject({ name: z.string(), address: hexString, outputOnly: z.boolean() }).optional(),
    })),
    unpassable: z.array(z.string()),
  }),
  seamCalls: z.array(seamCallSchema),
  returnValue: hexString.optional(),
  returnName: z.string().optional(),
  end: z.looseObject({ kind: z.string() }),
  checks: z.array(z.looseObject({ name: z.string(), status: z.enum(['pass', 'fail', 'n/a']), detail: z.string() })),
  ok: z.boolean(),
  expectedOops: z.boolean(),
  abi: z.enum(ABI_VERDICTS),
  /** Scenario inputs this ABI could not carry (the TDX module saw the caller's leftovers instead). */
  inputsNotCarried: z.array(z.string()),
});

/** One step of a sequence: every call of the function it made (run records), and its expectations checked against what the caller got. */
export const sequenceStepSchema = z.looseObject({
  index: z.number().int().min(0),
  label: z.string().optional(),
  leaf: hexString,
  leafName: z.string().optional(),
  env: z.looseObject({ lp: z.number().int() }),
  calls: z.array(runRecordSchema).min(1),
  checks: z.array(z.looseObject({
    what: z.string(),
    expected: z.string(),
    actual: z.string().optional(),
    status: z.enum(['pass', 'fail', 'n/a']),
    detail: z.string().optional(),
  })),
  ok: z.boolean(),
});

/** A sequence scenario run against one entry point: its steps against one module state. */
export const sequenceRecordSchema = z.looseObject({
  function: z.string(),
  kind: z.enum(['seamcall', 'tdcall']),
  sourceFile: z.string(),
  prototype: z.string(),
  scenario: z.looseObject({ name: z.string(), summary: z.string(), source: z.string() }),
  handler: z.string(),
  steps: z.array(sequenceStepSchema),
  /** Steps not run because a call before them did not return. */
  notRun: z.number().int().min(0),
  calls: z.number().int().min(0),
  ok: z.boolean(),
});

export const runDocumentSchema = envelope('run', {
  revision: z.looseObject({ name: z.string(), provenance: provenanceSchema }),
  profile: z.string(),
  config: z.string().optional(),
  /** Every struct layout the runs' parameters use, by name, once. */
  structs: z.record(z.string(), structLayoutSchema),
  runs: z.array(runRecordSchema),
  /** Sequence scenarios, one record per sequence × entry point. */
  sequences: z.array(sequenceRecordSchema),
  skipped: z.array(z.looseObject({ function: z.string(), scenario: z.string(), reason: z.string() })),
  failed: z.array(failedFileSchema),
  summary: z.looseObject({ runs: z.number().int(), sequences: z.number().int(), failed: z.boolean(), ends: z.record(z.string(), z.number().int()) }),
});

/** Every document schema by command. */
export const JSON_DOCUMENT_SCHEMAS = {
  doctor: doctorDocumentSchema,
  revisions: revisionsDocumentSchema,
  profiles: profilesDocumentSchema,
  cpp: cppDocumentSchema,
  build: buildDocumentSchema,
  scenarios: scenariosDocumentSchema,
  run: runDocumentSchema,
} as const satisfies Record<JsonCommand, z.ZodType>;

export type DoctorDocument = z.infer<typeof doctorDocumentSchema>;
export type RevisionsDocument = z.infer<typeof revisionsDocumentSchema>;
export type ProfilesDocument = z.infer<typeof profilesDocumentSchema>;
export type CppDocument = z.infer<typeof cppDocumentSchema>;
export type BuildDocument = z.infer<typeof buildDocumentSchema>;
export type ScenariosDocument = z.infer<typeof scenariosDocumentSchema>;
export type RunDocument = z.infer<typeof runDocumentSchema>;
export type ErrorDocument = z.infer<typeof errorDocumentSchema>;

/** The envelope fields of a command's document: a JsonCommand, or for an error document whichever command failed. */
export function documentHeader(command: string): { format: string; version: typeof JSON_FORMAT_VERSION } {
  return { format: `seamlab-${command}`, version: JSON_FORMAT_VERSION };
}

/** JSON text with bigints as "0x…" strings, bytes as hex and Errors as their message; two-space indent. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) => {
    if (typeof v === 'bigint') return hex(v);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (v instanceof Map) return Object.fromEntries(v as Map<PropertyKey, unknown>);
    if (k === 'error' && v instanceof Error) return v.message;
    return v;
  }, 2);
}

/** The `error` of an error document, of a revision or of a file that did not build (errorObjectSchema). */
export interface ErrorObject {
  code: ErrorCode;
  message: string;
  hint: string;
  where?: ErrorWhere;
  notes: string[];
}

/** A user error as a JSON object. */
export function errorObject(e: SeamlabError): ErrorObject {
  return { code: e.code, message: e.message, hint: e.hint, ...(e.where ? { where: e.where } : {}), notes: e.notes };
}

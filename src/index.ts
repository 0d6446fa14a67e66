/**
 * The seamlab library API (`import … from 'seamlab'`): each pipeline stage's
 * entry points and the types they take and give, named one by one — not the
 * Unicorn binding and its constants, the Keystone/Capstone loaders, the
 * kernel-tree cache, the tree file systems, cache resets or statistics kept
 * for tests. test/library-exports.test.ts pins the list: changing it is a
 * change of the API. Inside seamlab, modules import each other directly.
 */

// ---- errors and source locations ----
export { SeamlabError, isSeamlabError, formatError, type SeamlabErrorOptions } from './errors.js';
export { ERROR_CODES, type ErrorCode, type ErrorCodeInfo, type ErrorStage } from './error-codes.js';
export { formatPos, formatStack, type SourceLocation, type SourcePos, type CppMacroUse, type GasFrame, type ErrorWhere } from './support/source-location.js';
export { GPR_NAMES, RFLAGS, type GprName, type Regs } from './support/registers.js';
export { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from './support/limits.js';

// ---- intake: revisions ----
export { resolveRevision, listBuiltinRevisions, type ResolveOptions, type BuiltinRevisionInfo } from './intake/revision.js';
export type {
  Revision, EntryFunction, FunctionAbi, AbiParam, CType, StructLayout, StructField, SysvArgReg, ModuleCallUse,
  Provenance, PatchApplication, FileApplication, HunkApplication, ApplyMode,
} from './intake/types.js';
export type { ReadonlyFs } from './support/vfs.js';

// ---- kbuild + cpp: configuration profiles, preprocessing ----
export { PROFILES, type Profile, type Feature } from './kbuild/kconfig/profiles.js';
export { preprocess, type EnvironmentOptions, type PreprocessedSource, type CppDiagnostic } from './cpp/index.js';

// ---- image: building, listing, source map, ELF and DWARF ----
export { buildImage, buildRevision, type BuildOptions, type BuildResult, type BuiltFile, type BuiltRevision, type PreprocessFn } from './image/build.js';
export type { Image, ImageSection, ImageSymbol, SymbolType, SymbolBinding, ExtableEntry, HarnessStub, CfiDirective } from './image/types.js';
export type { Listing, ListingEntry } from './image/listing.js';
export { formatListing } from './report/listing.js';
export { SourceMap, formatLocation, type AddressLocation, type LineAddress } from './image/source-map.js';
export { writeElf, type ElfOptions } from './image/elf.js';
export { buildDebugInfo, type DebugInfo, type DebugInfoOptions, type DebugSection } from './image/dwarf.js';

// ---- machine: run control and observers ----
export { Machine, type MachineMode, type MachineOptions, type MachineRunOptions } from './machine/machine.js';
export type { Execution, ExecutionOptions, StopCondition } from './machine/execution.js';
export type {
  RunObserver, MemoryAccess, RunStop, PauseReason, RunEnd, StopReason, MachineRun,
  SeamCallRecord, SeamPath, StoreRecord, FixupRecord, TraceEntry,
} from './machine/run-types.js';
export type { CpuState } from './machine/cpu-state.js';

// ---- seam: the SEAM side, scenarios ----
export {
  outcome, HOST_ENV, GUEST_ENV, PhysicalAccessError,
  type SeamCall, type SeamHandler, type Outcome, type OutcomeKind, type OutputReg, type CpuEnv, type SeamKind, type GuestMemory, type FaultVector,
} from './seam/types.js';
export {
  STATUS, SEAMCALL_LEAF, TDCALL_LEAF, SEAMLDR_LEAF, TDVMCALL, SYS_FIELD, OPERAND_ID, statusName, leafName, parseLeaf,
  type StatusName, type SeamcallLeafName, type TdcallLeafName, type SeamldrLeafName,
} from './seam/codes.js';
export {
  createHandler,
  type Scenario, type ScenarioCase, type HandlerSpec, type LogicalCall, type InputValue, type PhysBuffer, type MemoryInit,
  type Sequence, type SequenceStep, type StepExpect, type CreateHandlerOptions,
} from './seam/scenario.js';
export {
  loadScenarioFile, resolveScenario, scenarioFromObject, scenarioFromText, scenarioFromModule, loadHandlerModule,
  scenarioSchema, type ScenarioLoadOptions, type ScenarioInput,
} from './seam/scenario-file.js';
export { inlineScenario, scenarioToYaml, type InlineCall } from './seam/inline.js';
export { BUILTIN_SCENARIOS, BUILTIN_SEQUENCES, builtinScenario } from './seam/builtin-scenarios.js';
export { createModuleSession, runSequenceDirect, type ModuleSession, type SessionCall, type SessionCallResult, type StepCheck, type StepResult } from './seam/session.js';

// ---- run: plan → execute → check, batch, sequences, sessions, the main job ----
export {
  runScenario, prepareRun, runCall, functionAddress,
  type RunOptions, type PrepareOptions, type PreparedRun, type RunFunction, type RunSubject, type RunResult, type SeamCallResult, type CallSpec, type CallOptions,
} from './run/run.js';
export {
  planCall, labelAddress,
  type CallPlan, type PlanOptions, type ParamPlan, type ParamRole, type StructPlacement, type PhysPlacement, type MemoryLabel,
} from './run/plan.js';
export { checkCall, type HarnessOutcome, type AbiCheck, type CheckStatus, type OutputField, type OutputStruct, type OriginSource } from './run/check.js';
export type { LeakReport, LeftoverValue, ScrubPromise, ValueOrigin } from './run/origins.js';
export { runBatch, type BatchOptions, type BatchResult } from './run/batch.js';
export { assembleBatchDriver, type DriverCode } from './image/batch-driver.js';
export type { SequenceResult, SequenceStepResult, ExpectCheck, CallerView } from './run/sequence.js';
export { openSession, runSequence, type KernelSession, type KernelCallInput, type KernelCallResult, type SessionOptions, type SessionInput } from './run/session.js';
export { runJob, jobFailed, type JobOptions, type JobResult, type ImageBuilder } from './run/main-job.js';

// ---- trace: recording, the trace format, golden traces ----
export { recordTrace, type TraceRequest, type TraceStream } from './trace/record.js';
export {
  TRACE_FORMAT, TRACE_VERSION, traceJsonSchema,
  TraceHeaderSchema, TraceStepSchema, TraceSummarySchema, TraceLineSchema, MemoryAccessSchema, SeamEventSchema, OutcomeSchema,
  type Trace, type TraceHeader, type TraceStep, type TraceSummary, type MemoryAccessRecord, type SeamEvent,
} from './trace/format.js';
export { parseTrace, serializeTrace } from './trace/jsonl.js';
export { compareTraces, type TraceComparison, type Divergence, type SourceChange } from './trace/compare.js';
export { checkGoldens, updateGoldens, goldenCases, type GoldenCase, type GoldenResult, type UpdateResult } from './trace/golden.js';

// ---- diff: behavioural diff of two revisions ----
export { runDiff, type DiffOptions } from './diff/run-diff.js';
export {
  DIFF_FORMAT, DIFF_VERSION, diffJsonSchema, DiffReportSchema, PairReportSchema, DifferenceSchema,
  type DiffReport, type PairReport, type Difference, type DiffExample, type SideInfo, type SideValue, type SourceEvidence,
  type MatrixCell, type ScenarioRun, type FuzzSummary, type Alignment, type AlignStep,
} from './diff/report.js';
export { loadExpectations, type Expectations, type ExpectRule } from './diff/expect.js';
export { mergeReports } from './diff/merge.js';

// ---- oracle: the silicon oracle ----
export { Oracle, type OracleRunOptions, type OracleRunResult } from './oracle/oracle.js';
export { siliconAvailability, ORACLE_BUDGET, type SiliconRunOptions } from './oracle/silicon.js';
export { formatOracleDivergence, type OracleDivergence } from './oracle/compare.js';
export { fuzzOracle, type FuzzReport, type FuzzTarget, type FuzzOptions, type FuzzFailure } from './oracle/fuzz.js';
export type { OracleTrace, OracleStep, OracleEnd, OracleSeamCall, MemorySnapshot, ByteRun } from './oracle/step-trace.js';

// ---- report: text, JSON documents and their schemas, HTML pages ----
export {
  formatTable, formatDetails, formatScenarioList, summaryLine, runDocument,
  type TableReportOptions, type RunDocumentInput, type FailedFile, type SkippedPair,
} from './report/run-report.js';
export { formatSequenceDetails, sequenceHeadline } from './report/sequence-report.js';
export {
  JSON_FORMAT_VERSION, JSON_COMMANDS, JSON_DOCUMENT_SCHEMAS, ABI_VERDICTS, errorObject, jsonText,
  doctorDocumentSchema, revisionsDocumentSchema, profilesDocumentSchema, cppDocumentSchema, buildDocumentSchema,
  scenariosDocumentSchema, runDocumentSchema, errorDocumentSchema, errorObjectSchema,
  runRecordSchema, sequenceRecordSchema, sequenceStepSchema, seamCallSchema, memWriteSchema, provenanceSchema, structLayoutSchema,
  type JsonCommand, type AbiVerdict, type ErrorObject, type DoctorDocument, type RevisionsDocument, type ProfilesDocument,
  type CppDocument, type BuildDocument, type ScenariosDocument, type RunDocument, type ErrorDocument,
} from './report/json-schema.js';
export { renderTraceExplorer, traceExplorerModel, type TraceSourceContext } from './report/trace-explorer.js';
export { renderDiffHtml } from './report/diff-html.js';

/**
 * The library API (`import … from 'seamlab'`, src/index.ts) is a chosen list:
 * its names are pinned here (a change of the API is then a conscious edit of
 * this file), src/index.ts names every export (no `export *`), and none of
 * them is a Unicorn constant or binding, a Keystone/Capstone loader, a cache
 * internal, a tree file system or a hook kept for tests.
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as library from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const INDEX = join(ROOT, 'src', 'index.ts');

const VALUES = [
  'ABI_VERDICTS', 'BUILTIN_SCENARIOS', 'BUILTIN_SEQUENCES', 'DEFAULT_BUDGET', 'DEFAULT_TIME_LIMIT_MS', 'DIFF_FORMAT',
  'DIFF_VERSION', 'DiffReportSchema', 'DifferenceSchema', 'ERROR_CODES', 'GPR_NAMES', 'GUEST_ENV', 'HOST_ENV',
  'JSON_COMMANDS', 'JSON_DOCUMENT_SCHEMAS', 'JSON_FORMAT_VERSION', 'Machine', 'MemoryAccessSchema', 'OPERAND_ID',
  'ORACLE_BUDGET', 'Oracle', 'OutcomeSchema', 'PROFILES', 'PairReportSchema', 'PhysicalAccessError', 'RFLAGS',
  'SEAMCALL_LEAF', 'SEAMLDR_LEAF', 'STATUS', 'SYS_FIELD', 'SeamEventSchema', 'SeamlabError', 'SourceMap',
  'TDCALL_LEAF', 'TDVMCALL', 'TRACE_FORMAT', 'TRACE_VERSION', 'TraceHeaderSchema', 'TraceLineSchema',
  'TraceStepSchema', 'TraceSummarySchema', 'assembleBatchDriver', 'buildDebugInfo', 'buildDocumentSchema',
  'buildImage', 'buildRevision', 'builtinScenario', 'checkCall', 'checkGoldens', 'compareTraces', 'cppDocumentSchema',
  'createHandler', 'createModuleSession', 'diffJsonSchema', 'doctorDocumentSchema', 'errorDocumentSchema',
  'errorObject', 'errorObjectSchema', 'formatDetails', 'formatError', 'formatListing', 'formatLocation',
  'formatOracleDivergence', 'formatPos', 'formatScenarioList', 'formatSequenceDetails', 'formatStack', 'formatTable',
  'functionAddress', 'fuzzOracle', 'goldenCases', 'inlineScenario', 'isSeamlabError', 'jobFailed', 'jsonText',
  'labelAddress', 'leafName', 'listBuiltinRevisions', 'loadExpectations', 'loadHandlerModule', 'loadScenarioFile',
  'memWriteSchema', 'mergeReports', 'openSession', 'outcome', 'parseLeaf', 'parseTrace', 'planCall', 'prepareRun',
  'preprocess', 'profilesDocumentSchema', 'provenanceSchema', 'recordTrace', 'renderDiffHtml', 'renderTraceExplorer',
  'resolveRevision', 'resolveScenario', 'revisionsDocumentSchema', 'runBatch', 'runCall', 'runDiff', 'runDocument',
  'runDocumentSchema', 'runJob', 'runRecordSchema', 'runScenario', 'runSequence', 'runSequenceDirect',
  'scenarioFromModule', 'scenarioFromObject', 'scenarioFromText', 'scenarioSchema', 'scenarioToYaml',
  'scenariosDocumentSchema', 'seamCallSchema', 'sequenceHeadline', 'sequenceRecordSchema', 'sequenceStepSchema',
  'serializeTrace', 'siliconAvailability', 'statusName', 'structLayoutSchema', 'summaryLine', 'traceExplorerModel',
  'traceJsonSchema', 'updateGoldens', 'writeElf',
];

const TYPES = [
  'AbiCheck', 'AbiParam', 'AbiVerdict', 'AddressLocation', 'AlignStep', 'Alignment', 'ApplyMode', 'BatchOptions',
  'BatchResult', 'BuildDocument', 'BuildOptions', 'BuildResult', 'BuiltFile', 'BuiltRevision', 'BuiltinRevisionInfo',
  'ByteRun', 'CType', 'CallOptions', 'CallPlan', 'CallSpec', 'CallerView', 'CfiDirective', 'CheckStatus',
  'CppDiagnostic', 'CppDocument', 'CppMacroUse', 'CpuEnv', 'CpuState', 'CreateHandlerOptions', 'DebugInfo',
  'DebugInfoOptions', 'DebugSection', 'DiffExample', 'DiffOptions', 'DiffReport', 'Difference', 'Divergence',
  'DoctorDocument', 'DriverCode', 'ElfOptions', 'EntryFunction', 'EnvironmentOptions', 'ErrorCode', 'ErrorCodeInfo',
  'ErrorDocument', 'ErrorObject', 'ErrorStage', 'ErrorWhere', 'Execution', 'ExecutionOptions', 'ExpectCheck',
  'ExpectRule', 'Expectations', 'ExtableEntry', 'FailedFile', 'FaultVector', 'Feature', 'FileApplication',
  'FixupRecord', 'FunctionAbi', 'FuzzFailure', 'FuzzOptions', 'FuzzReport', 'FuzzSummary', 'FuzzTarget', 'GasFrame',
  'GoldenCase', 'GoldenResult', 'GprName', 'GuestMemory', 'HandlerSpec', 'HarnessOutcome', 'HarnessStub',
  'HunkApplication', 'Image', 'ImageBuilder', 'ImageSection', 'ImageSymbol', 'InlineCall', 'InputValue', 'JobOptions',
  'JobResult', 'JsonCommand', 'KernelCallInput', 'KernelCallResult', 'KernelSession', 'LeakReport', 'LeftoverValue',
  'LineAddress', 'Listing', 'ListingEntry', 'LogicalCall', 'MachineMode', 'MachineOptions', 'MachineRun',
  'MachineRunOptions', 'MatrixCell', 'MemoryAccess', 'MemoryAccessRecord', 'MemoryInit', 'MemoryLabel',
  'MemorySnapshot', 'ModuleCallUse', 'ModuleSession', 'OracleDivergence', 'OracleEnd', 'OracleRunOptions',
  'OracleRunResult', 'OracleSeamCall', 'OracleStep', 'OracleTrace', 'OriginSource', 'Outcome', 'OutcomeKind',
  'OutputField', 'OutputReg', 'OutputStruct', 'PairReport', 'ParamPlan', 'ParamRole', 'PatchApplication',
  'PauseReason', 'PhysBuffer', 'PhysPlacement', 'PlanOptions', 'PrepareOptions', 'PreparedRun', 'PreprocessFn',
  'PreprocessedSource', 'Profile', 'ProfilesDocument', 'Provenance', 'ReadonlyFs', 'Regs', 'ResolveOptions',
  'Revision', 'RevisionsDocument', 'RunDocument', 'RunDocumentInput', 'RunEnd', 'RunFunction', 'RunObserver',
  'RunOptions', 'RunResult', 'RunStop', 'RunSubject', 'Scenario', 'ScenarioCase', 'ScenarioInput',
  'ScenarioLoadOptions', 'ScenarioRun', 'ScenariosDocument', 'ScrubPromise', 'SeamCall', 'SeamCallRecord',
  'SeamCallResult', 'SeamEvent', 'SeamHandler', 'SeamKind', 'SeamPath', 'SeamcallLeafName', 'SeamlabErrorOptions',
  'SeamldrLeafName', 'Sequence', 'SequenceResult', 'SequenceStep', 'SequenceStepResult', 'SessionCall',
  'SessionCallResult', 'SessionInput', 'SessionOptions', 'SideInfo', 'SideValue', 'SiliconRunOptions', 'SkippedPair',
  'SourceChange', 'SourceEvidence', 'SourceLocation', 'SourcePos', 'StatusName', 'StepCheck', 'StepExpect',
  'StepResult', 'StopCondition', 'StopReason', 'StoreRecord', 'StructField', 'StructLayout', 'StructPlacement',
  'SymbolBinding', 'SymbolType', 'SysvArgReg', 'TableReportOptions', 'TdcallLeafName', 'Trace', 'TraceComparison',
  'TraceEntry', 'TraceHeader', 'TraceRequest', 'TraceSourceContext', 'TraceStep', 'TraceStream', 'TraceSummary',
  'UpdateResult', 'ValueOrigin',
];

/** Modules whose declarations are not library API: the Unicorn binding, the encoders' loaders, caches, tree file systems. */
const INTERNAL_MODULES = [
  'machine/unicorn.ts', 'machine/unicorn-consts.ts', 'encode/keystone.ts', 'encode/keystone-cache.ts', 'encode/capstone.ts',
  'intake/kernel-cache.ts', 'intake/tree-manifest.ts', 'support/cache.ts', 'kbuild/env-cache.ts', 'cpp/preprocess-cache.ts',
  'support/vfs.ts',
];
/** The one declaration of those modules the API needs: the file-system interface buildImage and preprocess take. */
const ALLOWED_FROM_INTERNAL = new Set(['ReadonlyFs']);
/** Cache resets and counters that tests use. */
const TEST_HOOKS = ['clearRevisionCache', 'clearImageCache', 'clearEncodeMemo', 'flushEncodeMemo', 'buildStats', 'encoderStats', 'envCacheStats', 'keystoneCacheStats'];

/** The names src/index.ts exports, as written: values and type-only names; and whether any `export *` is left. */
function writtenExports(): { values: string[]; types: string[]; star: number } {
  const sf = ts.createSourceFile(INDEX, readFileSync(INDEX, 'utf8'), ts.ScriptTarget.ES2022, true);
  const values: string[] = [];
  const types: string[] = [];
  let star = 0;
  for (const s of sf.statements) {
    if (!ts.isExportDeclaration(s)) continue;
    if (!s.exportClause || !ts.isNamedExports(s.exportClause)) {
      star++;
      continue;
    }
    for (const e of s.exportClause.elements) (s.isTypeOnly || e.isTypeOnly ? types : values).push(e.name.text);
  }
  return { values: values.sort(), types: types.sort(), star };
}

describe('the library API (src/index.ts)', () => {
  const written = writtenExports();

  it('names every export: no export *', () => {
    expect(written.star).toBe(0);
  });

  it('exports exactly the pinned names', () => {
    expect(written.values).toEqual([...VALUES].sort());
    expect(written.types).toEqual([...TYPES].sort());
    expect(new Set([...VALUES, ...TYPES]).size).toBe(VALUES.length + TYPES.length);
    // What a program gets at run time is the value list.
    expect(Object.keys(library).sort()).toEqual([...VALUES].sort());
  });

  it('exports no Unicorn constant or binding, loader, cache internal, tree file system or test hook', () => {
    const names = [...VALUES, ...TYPES];
    expect(names.filter((n) => /^UC_/.test(n) || /^X86_REG|^GPR_IDS$/.test(n))).toEqual([]);
    expect(names.filter((n) => TEST_HOOKS.includes(n) || /Stats$|^clear[A-Z]|^flush[A-Z]|^sweep[A-Z]/.test(n))).toEqual([]);
    // Where each export is declared, followed through re-exports.
    const program = ts.createProgram([INDEX], {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
    });
    const checker = program.getTypeChecker();
    const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!);
    expect(exported.map((s) => s.name).sort()).toEqual([...names].sort());
    const internal: string[] = [];
    for (const s of exported) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      for (const d of target.declarations ?? []) {
        const file = relative(join(ROOT, 'src'), d.getSourceFile().fileName);
        if (INTERNAL_MODULES.includes(file) && !ALLOWED_FROM_INTERNAL.has(s.name)) internal.push(`${s.name} (${file})`);
      }
    }
    expect(internal).toEqual([]);
  });
});

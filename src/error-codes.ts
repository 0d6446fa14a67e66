/**
 * The registry of error codes: every code a `SeamlabError` (src/errors.ts)
 * can carry, with the pipeline stage that detects it and one line saying
 * what the user did (or what is missing) to get it.
 *
 * One table, grouped by stage in pipeline order, like GNU as's potable[]:
 * adding an error means adding its row here, and `ErrorCode` (the type of
 * `SeamlabError.code`) makes a misspelt or unregistered code a compile
 * error. The `stage` is the src/ folder whose code throws it (a command-line
 * check is `cli`); test/error-codes.test.ts checks that every row is thrown
 * there, that no code literal in src/ is missing, and the shape of each row.
 * Library users can switch on `e.code` and show `ERROR_CODES[e.code].meaning`.
 *
 * Codes are stable: they appear in `--json` error documents and in brackets
 * after every message the CLI prints (`error: … [CPP_MISSING_INCLUDE]`).
 */

/** The pipeline stages (src/ folders) that throw user errors. */
export type ErrorStage =
  | 'intake' | 'kbuild' | 'cpp' | 'gas' | 'encode' | 'image' | 'machine' | 'seam' | 'run'
  | 'trace' | 'debug' | 'gdb' | 'diff' | 'oracle' | 'support' | 'cli';

export interface ErrorCodeInfo {
  readonly stage: ErrorStage;
  /** One line: what the user did, or what is missing. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  // ---- intake: revision specs, the kernel-tree cache, patches and mails, C declarations and the call ABI ----
  ABI_MODULE_CALL_ARGS: { stage: 'intake', meaning: 'a TDX_MODULE_CALL use has no host=0/host=1 argument, so SEAMCALL or TDCALL is unknown' },
  ABI_PROTOTYPE_NOT_FOUND: { stage: 'intake', meaning: 'an entry point built from TDX_MODULE_CALL has no C prototype in the headers' },
  ABI_STACK_PARAMS: { stage: 'intake', meaning: 'an entry point takes more than six parameters (the rest would go on the stack)' },
  ABI_UNKNOWN_TYPE: { stage: 'intake', meaning: 'a parameter or struct member has a C type seamlab does not know' },
  ABI_UNSUPPORTED_PARAM: { stage: 'intake', meaning: 'a parameter is passed by value as something other than an integer or pointer' },
  C_LAYOUT_RECURSIVE: { stage: 'intake', meaning: 'a struct contains itself (not through a pointer)' },
  C_NO_SUCH_MEMBER: { stage: 'intake', meaning: 'a struct member named in an offset or label does not exist' },
  C_STRUCT_NOT_FOUND: { stage: 'intake', meaning: 'a struct or union is not defined in the headers searched' },
  C_UNKNOWN_CONSTRUCT: { stage: 'intake', meaning: 'a struct definition has a shape seamlab cannot lay out (no closing brace, a directive inside)' },
  KERNEL_DEB_BAD: { stage: 'intake', meaning: 'a kernel source .deb in the cache cannot be read' },
  KERNEL_DOWNLOAD_FAILED: { stage: 'intake', meaning: 'apt-get download of a kernel source package failed' },
  KERNEL_EXTRACT_FAILED: { stage: 'intake', meaning: 'extracting the kernel tree from its .deb failed' },
  KERNEL_TREE_DAMAGED: { stage: 'intake', meaning: 'a cached kernel tree differs from its manifest (a file changed, vanished or was added)' },
  KERNEL_TREE_MISMATCH: { stage: 'intake', meaning: "the Debian package's TDX assembly is not the one seamlab expects (another package version)" },
  KERNEL_TREE_UNSUPPORTED: { stage: 'intake', meaning: 'the extracted package has file names seamlab cannot record (not a known kernel source package)' },
  KERNEL_TREE_UNWRITABLE: { stage: 'intake', meaning: 'the kernel-tree cache cannot be written (disk full, permissions)' },
  MAIL_BAD_BASE64: { stage: 'intake', meaning: 'a patch mail has a base64 body with invalid characters' },
  MAIL_BAD_MIME: { stage: 'intake', meaning: 'a patch mail is multipart without a boundary' },
  PATCH_BAD_HEADER: { stage: 'intake', meaning: 'a file diff in a patch names no file' },
  PATCH_BAD_HUNK: { stage: 'intake', meaning: "a hunk's line counts do not match its header, or a new file's hunk removes lines" },
  PATCH_BINARY: { stage: 'intake', meaning: 'a patch contains a binary diff' },
  PATCH_FILE_EXISTS: { stage: 'intake', meaning: 'a patch creates a file that already exists in the tree' },
  PATCH_HUNK_FAILED: { stage: 'intake', meaning: 'a hunk does not apply to a build input (.S, .h)' },
  PATCH_MISSING_FILE: { stage: 'intake', meaning: 'a patch changes a build input the tree does not have' },
  PATCH_NOT_A_FILE: { stage: 'intake', meaning: 'a patch file is not a regular file' },
  PATCH_NOT_FOUND: { stage: 'intake', meaning: 'a patch file does not exist' },
  PATCH_NO_DIFF: { stage: 'intake', meaning: 'a patch file contains no diff' },
  PATCH_NO_HUNKS: { stage: 'intake', meaning: 'a file diff in a patch has no hunks (the mail is truncated)' },
  PATCH_PATH_ABSOLUTE: { stage: 'intake', meaning: 'a patch names an absolute path' },
  PATCH_PATH_BAD: { stage: 'intake', meaning: 'a patch path contains control characters or names no file' },
  PATCH_PATH_SYMLINK: { stage: 'intake', meaning: 'a patch changes a file that is a symlink in the tree' },
  PATCH_PATH_SYMLINK_ESCAPE: { stage: 'intake', meaning: 'a patch path goes through a symlink that points outside the tree' },
  PATCH_PATH_TRAVERSAL: { stage: 'intake', meaning: 'a patch path contains a ".." component' },
  PATCH_SERIES_DUPLICATE: { stage: 'intake', meaning: 'an mbox holds two messages with the same [PATCH n/m] number' },
  PATCH_TOO_LARGE: { stage: 'intake', meaning: 'a patch file, the number of files a patch changes, or a patched file is over its limit' },
  PATCH_TOO_MANY_MESSAGES: { stage: 'intake', meaning: 'an mbox holds more messages than seamlab reads' },
  PATCH_UNSUPPORTED_MODE: { stage: 'intake', meaning: 'a patch changes a symlink or a submodule' },
  SPEC_EMPTY: { stage: 'intake', meaning: 'the revision spec is empty' },
  SPEC_EMPTY_PART: { stage: 'intake', meaning: "the revision spec has an empty part between '+' signs" },
  SPEC_NOT_A_TREE: { stage: 'intake', meaning: 'the revision spec names a directory that is not a kernel tree' },
  SPEC_NO_BASE: { stage: 'intake', meaning: 'the revision spec starts with a patch instead of a base tree' },
  SPEC_PATCH_NOT_A_FILE: { stage: 'intake', meaning: 'a patch in the revision spec is a directory or special file' },
  SPEC_PATCH_NOT_FOUND: { stage: 'intake', meaning: 'a patch in the revision spec does not exist' },
  SPEC_UNKNOWN: { stage: 'intake', meaning: 'the revision spec is neither a built-in revision nor a directory' },
  TREE_NOT_READY: { stage: 'intake', meaning: 'a built-in kernel tree is missing or damaged in the cache (run seamlab setup)' },
  UNKNOWN_TREE: { stage: 'intake', meaning: 'no built-in kernel tree has this name' },

  // ---- kbuild: the configuration (profiles, .config, Kconfig), asm-offsets and the Makefiles' flags ----
  ASM_OFFSETS_UNCERTAIN: { stage: 'kbuild', meaning: 'a struct used by asm-offsets.c cannot be placed in the configuration' },
  ASM_OFFSETS_UNKNOWN: { stage: 'kbuild', meaning: 'asm-offsets.c has a statement other than DEFINE/OFFSET/BLANK/COMMENT' },
  CONFIG_NOT_A_FILE: { stage: 'kbuild', meaning: '--config names a directory, FIFO or device' },
  CONFIG_NOT_FOUND: { stage: 'kbuild', meaning: '--config names a file that cannot be read' },
  CONFIG_SYNTAX: { stage: 'kbuild', meaning: 'a kernel .config has a line that is not CONFIG_X=value or "# CONFIG_X is not set"' },
  CONFIG_TOO_BIG: { stage: 'kbuild', meaning: 'the --config file is over its size limit' },
  KBUILD_FLAGS_UNREADABLE: { stage: 'kbuild', meaning: "the tree's Makefiles do not give the include paths or flags seamlab reads" },
  KBUILD_NOT_X86_64: { stage: 'kbuild', meaning: 'the configuration does not build for x86-64 (CONFIG_64BIT off)' },
  KCONFIG_SYNTAX: { stage: 'kbuild', meaning: "a line of the tree's Kconfig files cannot be parsed" },
  PROFILE_CONFLICT: { stage: 'kbuild', meaning: 'a profile turns off an option that another option selects' },
  PROFILE_FEATURE_UNKNOWN: { stage: 'kbuild', meaning: "a profile's feature has no Kconfig option in this tree" },
  PROFILE_UNSATISFIED: { stage: 'kbuild', meaning: "the tree's Kconfig keeps an option of the profile off" },
  UNKNOWN_PROFILE: { stage: 'kbuild', meaning: 'no kconfig profile has this name' },

  // ---- cpp: the C preprocessor ----
  CPP_BAD_CONDITIONAL: { stage: 'cpp', meaning: '#else/#elif/#endif without #if, or after #else' },
  CPP_BAD_DEFINE: { stage: 'cpp', meaning: 'a #define is malformed (bad parameter list, # not before a parameter)' },
  CPP_BAD_DIRECTIVE: { stage: 'cpp', meaning: 'an invalid preprocessing directive, or one missing its macro name' },
  CPP_BAD_IF: { stage: 'cpp', meaning: 'an #if/#elif expression is malformed, or __has_include is used outside one' },
  CPP_BAD_INCLUDE: { stage: 'cpp', meaning: '#include is not followed by "FILE" or <FILE>' },
  CPP_BAD_PASTE: { stage: 'cpp', meaning: '## pastes two tokens that do not form one token' },
  CPP_BAD_PRAGMA: { stage: 'cpp', meaning: '_Pragma is not given a parenthesized string literal' },
  CPP_DIRECTIVE_IN_ARGS: { stage: 'cpp', meaning: 'a directive appears inside the arguments of a macro call' },
  CPP_ERROR_DIRECTIVE: { stage: 'cpp', meaning: 'the source reached an #error (the headers reject this configuration)' },
  CPP_EXPANSION_LIMIT: { stage: 'cpp', meaning: 'a macro expansion grows without bound' },
  CPP_FORBIDDEN_NAME: { stage: 'cpp', meaning: 'the source uses an asm-offsets.h constant seamlab could not compute for this revision' },
  CPP_INCLUDE_CYCLE: { stage: 'cpp', meaning: 'headers include each other in a cycle without guards' },
  CPP_INCLUDE_DEPTH: { stage: 'cpp', meaning: '#include nests too deeply' },
  CPP_LEX_ERROR: { stage: 'cpp', meaning: 'a file has an unterminated comment' },
  CPP_MACRO_ARGS: { stage: 'cpp', meaning: 'a function-like macro is called with the wrong number of arguments' },
  CPP_MISSING_INCLUDE: { stage: 'cpp', meaning: 'an #include (or forced include) names a header found on no search path' },
  CPP_NO_SUCH_FILE: { stage: 'cpp', meaning: 'the file to preprocess does not exist in this revision' },
  CPP_POISONED: { stage: 'cpp', meaning: 'the source uses an identifier poisoned by #pragma GCC poison' },
  CPP_UNSUPPORTED_DIRECTIVE: { stage: 'cpp', meaning: 'the source uses #assert/#unassert (obsolete GCC assertions)' },
  CPP_UNTERMINATED_ARGS: { stage: 'cpp', meaning: 'a macro call has no closing parenthesis' },
  CPP_UNTERMINATED_CONDITIONAL: { stage: 'cpp', meaning: 'a file ends inside an #if' },

  // ---- gas: the GNU as front end (directives, macros, expressions, layout) ----
  GAS_BAD_ALIGNMENT: { stage: 'gas', meaning: 'an alignment is not a power of two' },
  GAS_BAD_ARGUMENT: { stage: 'gas', meaning: 'a directive is given a malformed argument (a string, a name, a count)' },
  GAS_BAD_DIRECTIVE: { stage: 'gas', meaning: 'a directive is used where it makes no sense (.popsection without .pushsection, .exitm outside a macro)' },
  GAS_BAD_EXPRESSION: { stage: 'gas', meaning: 'an expression is malformed or combines operands GNU as refuses' },
  GAS_BAD_OPERAND: { stage: 'gas', meaning: 'an instruction operand uses a register where a value is expected' },
  GAS_BAD_ORG: { stage: 'gas', meaning: '.org moves backwards or into another section' },
  GAS_BAD_SECTION: { stage: 'gas', meaning: 'a .section directive is malformed' },
  GAS_DATA_IN_BSS: { stage: 'gas', meaning: 'data is emitted into a nobits section such as .bss' },
  GAS_ERROR_DIRECTIVE: { stage: 'gas', meaning: 'the source reached .error or .err' },
  GAS_EXPR_OVERFLOW: { stage: 'gas', meaning: 'an expression divides the most negative number by -1' },
  GAS_FIXUP_OVERFLOW: { stage: 'gas', meaning: 'a value does not fit the bytes it is stored in (relocation truncated to fit)' },
  GAS_JUNK: { stage: 'gas', meaning: 'a statement has junk at the end of the line' },
  GAS_MACRO_ARGS: { stage: 'gas', meaning: 'a .macro is invoked with unknown, missing or too many arguments' },
  GAS_MACRO_DEPTH: { stage: 'gas', meaning: 'macros nest too deeply (a macro invoking itself without end)' },
  GAS_MACRO_REDEFINED: { stage: 'gas', meaning: 'a .macro is defined twice without .purgem' },
  GAS_MACRO_SYNTAX: { stage: 'gas', meaning: 'a .macro definition has a malformed name or parameter list' },
  GAS_NOT_CONSTANT: { stage: 'gas', meaning: 'an expression that must be known now (.if, .rept, .fill count) is not' },
  GAS_OUTPUT_LIMIT: { stage: 'gas', meaning: 'the output grows over the size seamlab assembles (a wrong .skip/.rept/.align)' },
  GAS_REGISTER_VALUE: { stage: 'gas', meaning: 'a register is used where a number is required' },
  GAS_RELAX_LOOP: { stage: 'gas', meaning: "a section's layout does not converge (an .org or .skip depends on its own size)" },
  GAS_STATEMENT_LIMIT: { stage: 'gas', meaning: 'more statements are executed than seamlab allows (a runaway .rept or macro)' },
  GAS_SYMBOL_LOOP: { stage: 'gas', meaning: 'symbols are defined in terms of themselves' },
  GAS_SYMBOL_REDEFINED: { stage: 'gas', meaning: 'a label or .equiv symbol is defined twice' },
  GAS_UNBALANCED_IF: { stage: 'gas', meaning: '.else/.elseif/.endif without .if, or a file ending inside .if' },
  GAS_UNBALANCED_MACRO: { stage: 'gas', meaning: '.endm without .macro, or a .macro never closed' },
  GAS_UNBALANCED_REPT: { stage: 'gas', meaning: '.endr without .rept/.irp/.irpc, or one never closed' },
  GAS_UNDEFINED_SYMBOL: { stage: 'gas', meaning: 'a layout expression (.org, .skip) refers to an undefined symbol' },
  GAS_UNKNOWN_DIRECTIVE: { stage: 'gas', meaning: 'a directive GNU as does not have, or seamlab does not implement' },
  GAS_UNSUPPORTED: { stage: 'gas', meaning: 'a GNU as feature seamlab does not implement (subsections, …)' },

  // ---- encode: x86-64 instruction encoding ----
  ENCODE_BRANCH_RANGE: { stage: 'encode', meaning: 'a branch target is out of range for the branch form written' },
  ENCODE_INTERNAL: { stage: 'encode', meaning: 'Keystone did not produce the instruction form seamlab chose (a seamlab bug, reported per instruction)' },
  ENCODE_KEYSTONE_FAILED: { stage: 'encode', meaning: 'Keystone failed on an instruction GNU as accepts' },
  ENCODE_PREFIX: { stage: 'encode', meaning: 'an instruction repeats a kind of prefix' },
  ENCODE_RANGE: { stage: 'encode', meaning: 'an immediate or displacement does not fit its operand' },
  ENCODE_REJECTED: { stage: 'encode', meaning: 'an instruction cannot be encoded with these operands' },
  ENCODE_RELOC_RANGE: { stage: 'encode', meaning: 'a symbol value does not fit the field of the instruction that refers to it' },
  ENCODE_REX_HIGH_BYTE: { stage: 'encode', meaning: 'an instruction needing a REX prefix uses %ah/%bh/%ch/%dh' },
  ENCODE_SYNTAX: { stage: 'encode', meaning: 'an instruction has a malformed operand or unknown prefix' },
  ENCODE_UNKNOWN_MNEMONIC: { stage: 'encode', meaning: 'no such instruction' },
  ENCODE_UNSUPPORTED: { stage: 'encode', meaning: 'an instruction form seamlab does not encode' },
  KEYSTONE_UNAVAILABLE: { stage: 'encode', meaning: 'the Keystone assembler package cannot be started (reinstall dependencies)' },

  // ---- image: linking the object into an image ----
  BATCH_NO_DRIVER: { stage: 'image', meaning: "seamlab's batch driver assembly does not define its entry (the checkout is damaged)" },
  BUILD_NO_ENTRY_POINTS: { stage: 'image', meaning: 'the revision has no .S that builds a TDX entry point' },
  GAS_BAD_SIZE: { stage: 'image', meaning: 'a .size expression is not a constant' },
  IMAGE_BAD_EXTABLE: { stage: 'image', meaning: 'an __ex_table entry was not written by the kernel _ASM_EXTABLE macros' },
  IMAGE_UNDEFINED_SYMBOL: { stage: 'image', meaning: 'the code refers to a symbol neither defined nor stubbed by seamlab' },
  IMAGE_WRAPS_AROUND: { stage: 'image', meaning: 'a section placed at its alignment wraps around the 64-bit address space' },

  // ---- machine: the emulated CPU ----
  MACHINE_NO_NATIVE_RECORDER: { stage: 'machine', meaning: 'the native step recorder cannot be built (no C compiler)' },
  UNICORN_MISSING: { stage: 'machine', meaning: 'libunicorn.so.2 (Unicorn 2) cannot be loaded' },

  // ---- seam: scenarios, handlers and the SEAM side of a call ----
  INLINE_BAD_ANSWER: { stage: 'seam', meaning: '--answer names an outcome the call kind cannot have, or no outcome' },
  INLINE_BAD_REGISTER: { stage: 'seam', meaning: '--reg is not REG=VALUE with an input register' },
  INLINE_BAD_VALUE: { stage: 'seam', meaning: '--reg gives a value that is not a number' },
  INLINE_UNKNOWN_LEAF: { stage: 'seam', meaning: '--leaf names no known leaf, or one of the other call kind' },
  SCENARIO_ALIASES: { stage: 'seam', meaning: 'YAML aliases in a scenario file expand to too many nodes' },
  SCENARIO_BAD_HANDLER: { stage: 'seam', meaning: 'a scenario handler module does not export a handler' },
  SCENARIO_BAD_MODULE: { stage: 'seam', meaning: 'a scenario module exports neither scenario nor handler' },
  SCENARIO_CODE_NOT_ALLOWED: { stage: 'seam', meaning: 'a YAML/JSON scenario loads a handler module without --allow-code' },
  SCENARIO_HANDLER_FAILED: { stage: 'seam', meaning: "creating a scenario's handler threw or took too long" },
  SCENARIO_INVALID: { stage: 'seam', meaning: 'a scenario has a missing, unknown or ill-typed field' },
  SCENARIO_MODULE_ERROR: { stage: 'seam', meaning: 'a scenario module threw while loading' },
  SCENARIO_MODULE_HANGS: { stage: 'seam', meaning: 'a scenario module never finishes loading' },
  SCENARIO_NOT_A_FILE: { stage: 'seam', meaning: '--scenario names a directory, FIFO or device' },
  SCENARIO_NOT_FOUND: { stage: 'seam', meaning: '--scenario names neither a built-in scenario nor a readable file, or a handler module is missing' },
  SCENARIO_NOT_SERIALIZABLE: { stage: 'seam', meaning: 'a scenario with handler code cannot be written as a scenario file' },
  SCENARIO_NO_LIBRARY: { stage: 'seam', meaning: 'a scenario module imports seamlab but the library is not built' },
  SCENARIO_NO_TS: { stage: 'seam', meaning: 'a TypeScript scenario module needs esbuild, which is not installed' },
  SCENARIO_SYNTAX: { stage: 'seam', meaning: 'a scenario file is not valid YAML or JSON' },
  SCENARIO_TOO_BIG: { stage: 'seam', meaning: 'a scenario file is over its size limit' },
  SCENARIO_TOO_DEEP: { stage: 'seam', meaning: 'a scenario file nests too deeply' },
  SCENARIO_TS_ERROR: { stage: 'seam', meaning: 'a scenario module does not compile' },
  SEAM_BAD_OUTCOME: { stage: 'seam', meaning: 'a handler returned an outcome that is not valid for the call' },
  SESSION_BUFFER_INPUT: { stage: 'seam', meaning: 'a session step gives a physical buffer as an input, which only a run can place' },
  SESSION_NEVER_COMPLETES: { stage: 'seam', meaning: 'a handler answers "interrupted" for ever' },
  SESSION_UNKNOWN_LEAF: { stage: 'seam', meaning: 'a session call names no known leaf' },

  // ---- run: planning, running and checking calls ----
  ABI_STRUCT_TOO_BIG: { stage: 'run', meaning: 'a struct argument does not fit the caller area of the machine' },
  RUN_NOTHING: { stage: 'run', meaning: 'none of the selected scenarios applies to the selected entry points' },
  RUN_NOT_APPLICABLE: { stage: 'run', meaning: 'a scenario does not apply to the entry point (host vs guest, ABI)' },
  RUN_NO_SYMBOL: { stage: 'run', meaning: 'the entry point is not defined in the built image' },
  RUN_SEQUENCE: { stage: 'run', meaning: 'a sequence scenario is used where one call is expected' },
  RUN_UNKNOWN_FUNCTION: { stage: 'run', meaning: 'the revision has no TDX entry point with this name' },
  SCENARIO_PHYS_TOO_BIG: { stage: 'run', meaning: "a scenario's physical buffers do not fit the physical-memory area" },
  SEQUENCE_MEMORY_OUTSIDE: { stage: 'run', meaning: 'a sequence step writes memory outside the physical-memory area' },
  SESSION_BAD_INPUT: { stage: 'run', meaning: 'a session call gives an input that is not a SEAM input register' },
  SESSION_BAD_VALUE: { stage: 'run', meaning: 'a session call gives a value that is not a 64-bit number or status name' },
  SESSION_WRONG_KIND: { stage: 'run', meaning: 'a session calls an entry point of the other kind (SEAMCALL vs TDCALL)' },

  // ---- trace: recorded traces and golden traces ----
  GOLDEN_WRITE_FAILED: { stage: 'trace', meaning: 'a golden trace cannot be written' },
  TRACE_BAD_JSON: { stage: 'trace', meaning: 'a trace file has a line that is not JSON' },
  TRACE_BAD_ORDER: { stage: 'trace', meaning: 'a trace file has records out of order (header, steps, summary)' },
  TRACE_BAD_RECORD: { stage: 'trace', meaning: 'a trace file has a record that is not seamlab-trace version 1' },
  TRACE_INCOMPLETE: { stage: 'trace', meaning: 'a trace file has no header or no summary (cut short)' },
  TRACE_NO_NATIVE_RECORDER: { stage: 'trace', meaning: '--recorder native is asked for but cannot be built' },
  TRACE_NO_SILICON: { stage: 'trace', meaning: 'trace --on silicon where this host cannot single-step the function (no ptrace, no runner)' },

  // ---- debug: the source-level debugger and its DAP server ----
  DAP_BAD_LAUNCH: { stage: 'debug', meaning: 'a DAP launch request has a bad configuration' },
  DAP_BAD_REFERENCE: { stage: 'debug', meaning: 'a DAP memory reference is not an address' },
  DAP_BAD_SOURCE: { stage: 'debug', meaning: 'a DAP setBreakpoints request has no source path' },
  DAP_NOT_LAUNCHED: { stage: 'debug', meaning: 'a DAP request came before launch' },
  DAP_READ_ONLY: { stage: 'debug', meaning: 'a DAP client tried to change a value that cannot be changed' },
  DAP_RUNNING: { stage: 'debug', meaning: 'a DAP request needs the run paused' },
  DEBUG_AMBIGUOUS_COMMAND: { stage: 'debug', meaning: 'a debugger command abbreviation matches several commands' },
  DEBUG_BAD_CATCH: { stage: 'debug', meaning: 'catch is given something other than seamcall or fixup' },
  DEBUG_BAD_COUNT: { stage: 'debug', meaning: 'a debugger command is given a count that is not a positive number' },
  DEBUG_BAD_FORMAT: { stage: 'debug', meaning: 'x/FMT has an invalid format' },
  DEBUG_BAD_INFO: { stage: 'debug', meaning: '"info" is given an unknown or ambiguous subcommand' },
  DEBUG_BAD_SET: { stage: 'debug', meaning: '"set var" cannot be parsed' },
  DEBUG_BREAK_UNRESOLVED: { stage: 'debug', meaning: 'a breakpoint location has no code' },
  DEBUG_EXPRESSION: { stage: 'debug', meaning: 'a debugger expression is malformed or cannot be evaluated' },
  DEBUG_NOT_LVALUE: { stage: 'debug', meaning: 'an assignment target is neither a register nor memory' },
  DEBUG_NOT_RUNNING: { stage: 'debug', meaning: 'a command needs a live run but the run has ended' },
  DEBUG_NO_BREAKPOINT: { stage: 'debug', meaning: 'no breakpoint or watchpoint has this number' },
  DEBUG_NO_LOCATION: { stage: 'debug', meaning: 'a command needs a source location and there is none here' },
  DEBUG_NO_SOURCE: { stage: 'debug', meaning: 'no source file of the run has this name' },
  DEBUG_UNKNOWN_COMMAND: { stage: 'debug', meaning: 'no debugger command has this name' },
  DEBUG_UNKNOWN_FUNCTION: { stage: 'debug', meaning: 'the revision has no TDX entry point with this name' },
  DEBUG_UNKNOWN_REGISTER: { stage: 'debug', meaning: 'no register has this name' },
  DEBUG_UNMAPPED: { stage: 'debug', meaning: 'memory to read or write is not mapped' },
  DEBUG_WATCH_ACCESS: { stage: 'debug', meaning: 'rwatch/awatch is given something not in memory (a register: only its writes can be watched)' },
  DEBUG_WATCH_EMPTY: { stage: 'debug', meaning: 'watch is given no expression' },
  DEBUG_WATCH_REGISTER: { stage: 'debug', meaning: 'a watchpoint names no known register' },
  DEBUG_WATCH_SIZE: { stage: 'debug', meaning: 'a watchpoint covers fewer than 1 or more than 64 bytes' },
  DEBUG_WATCH_UNMAPPED: { stage: 'debug', meaning: 'a watchpoint covers memory that is not mapped' },

  // ---- gdb: the gdb remote-protocol server ----
  GDB_BAD_PORT: { stage: 'gdb', meaning: '--gdb is not a TCP port number' },
  GDB_LISTEN_FAILED: { stage: 'gdb', meaning: 'the gdb server cannot listen on the address and port given' },

  // ---- diff: behavioural diff of two revisions, fuzz campaigns and their reports ----
  DIFF_BAD_PAIR: { stage: 'diff', meaning: '--pair is not REV:FN=REV:FN' },
  DIFF_EXPECT_INVALID: { stage: 'diff', meaning: 'an expected-differences file has an invalid rule' },
  DIFF_EXPECT_NOT_FOUND: { stage: 'diff', meaning: '--expect names a file that does not exist' },
  DIFF_EXPECT_SYNTAX: { stage: 'diff', meaning: 'an expected-differences file is not valid YAML or JSON' },
  DIFF_EXPECT_TOO_BIG: { stage: 'diff', meaning: 'an expected-differences file is over its size limit' },
  DIFF_KIND_MISMATCH: { stage: 'diff', meaning: 'a pair puts a SEAMCALL entry point against a TDCALL one' },
  DIFF_MERGE_FORMAT: { stage: 'diff', meaning: 'a file given to diff-merge is not a seamlab-diff version 1 report' },
  DIFF_MERGE_MISMATCH: { stage: 'diff', meaning: 'the reports given to diff-merge come from different campaigns' },
  DIFF_MERGE_NONE: { stage: 'diff', meaning: 'diff-merge is given no reports' },
  DIFF_MERGE_READ: { stage: 'diff', meaning: 'a report given to diff-merge cannot be read' },
  DIFF_MERGE_SHARDS: { stage: 'diff', meaning: 'the shards given to diff-merge are not 1..n once each' },
  DIFF_NO_PAIRS: { stage: 'diff', meaning: 'the two revisions have no entry point with the same name, and no --pair' },
  DIFF_NO_WORKER: { stage: 'diff', meaning: '--jobs needs the built diff worker, which is missing' },
  DIFF_UNKNOWN_FUNCTION: { stage: 'diff', meaning: 'a pair names an entry point the revision does not have' },

  // ---- oracle: the silicon oracle (running the image on this CPU) ----
  ORACLE_ABSOLUTE_REFERENCE: { stage: 'oracle', meaning: 'the image refers to an address inside itself absolutely, so it cannot run relocated' },
  ORACLE_COMPILE_FAILED: { stage: 'oracle', meaning: 'the silicon-oracle runner does not compile' },
  ORACLE_EMPTY_IMAGE: { stage: 'oracle', meaning: 'the image has no code to run' },
  ORACLE_NO_COMPILER: { stage: 'oracle', meaning: 'no C compiler to build the silicon-oracle runner' },
  ORACLE_NO_PTRACE: { stage: 'oracle', meaning: 'this host does not allow single-stepping a child process (ptrace)' },
  ORACLE_PROTOCOL: { stage: 'oracle', meaning: 'the silicon-oracle runner answered something unexpected' },
  ORACLE_RUNNER_ERROR: { stage: 'oracle', meaning: 'the silicon-oracle runner reported an error' },
  ORACLE_RUNNER_GONE: { stage: 'oracle', meaning: 'the silicon-oracle runner stopped answering' },
  ORACLE_RUNNER_START: { stage: 'oracle', meaning: 'the silicon-oracle runner does not start' },
  ORACLE_UNSUPPORTED_HOST: { stage: 'oracle', meaning: 'the host is not x86-64 Linux, so the silicon oracle cannot run' },
  ORACLE_WRITABLE_IMAGE: { stage: 'oracle', meaning: 'the image has a writable section, which the oracle does not compare' },

  // ---- support: files the user names, the read-only tree view ----
  OUTPUT_NOT_A_FILE: { stage: 'support', meaning: 'an output path is a directory or special file' },
  OUTPUT_WRITE_FAILED: { stage: 'support', meaning: 'an output file or stdout cannot be written' },
  PATH_OUTSIDE_TREE: { stage: 'support', meaning: 'a path leaves the kernel tree ("..")' },

  // ---- cli: command-line checks and the JSON error document ----
  BUILD_NO_SUCH_FILE: { stage: 'cli', meaning: 'build --file names no entry-point file of the revision' },
  CLI_BAD_NUMBER: { stage: 'cli', meaning: 'an option expecting a number is given something else' },
  CLI_CONFLICT: { stage: 'cli', meaning: 'two options that exclude each other are given' },
  CLI_INLINE_WITHOUT_LEAF: { stage: 'cli', meaning: '--reg or --answer is given without --leaf' },
  CLI_USAGE: { stage: 'cli', meaning: 'bad usage: unknown command or option, missing argument (JSON error documents only)' },
  DAP_LISTEN: { stage: 'cli', meaning: 'the DAP server cannot listen on the address and port given' },
  DEBUG_BATCH_NOT_A_FILE: { stage: 'cli', meaning: 'debug --batch names a directory, FIFO or device' },
  DEBUG_BATCH_NOT_FOUND: { stage: 'cli', meaning: 'debug --batch names a file that cannot be read' },
  DEBUG_BATCH_TOO_BIG: { stage: 'cli', meaning: 'the debug --batch file is over its size limit' },
  DEBUG_GDB_AND_BATCH: { stage: 'cli', meaning: 'debug is given both --gdb and --batch' },
  DEBUG_NO_FUNCTION: { stage: 'cli', meaning: 'debug is not told which entry point (--fn) of several' },
  DIFF_BAD_SHARD: { stage: 'cli', meaning: '--shard is not i/n with 1 ≤ i ≤ n' },
  DIFF_FUZZ_ONLY: { stage: 'cli', meaning: '--fuzz-only is given without --fuzz N, or with --scenario' },
  GOLDEN_NONE: { stage: 'cli', meaning: 'no golden trace path contains the filter given' },
  INTERNAL: { stage: 'cli', meaning: 'not a user error: a bug in seamlab (JSON error documents only; exit status 70)' },
  RUN_REVISION_AFTER_OPTION: { stage: 'cli', meaning: 'a revision is written after --fn/--scenario, which swallowed it as a value' },
  SCENARIO_UNKNOWN: { stage: 'cli', meaning: 'scenarios --show names no built-in scenario' },
  TRACE_NO_FUNCTION: { stage: 'cli', meaning: 'trace is not told which entry point (--fn) of several' },
  TRACE_OUTPUT: { stage: 'cli', meaning: 'the trace output file cannot be opened' },
  UNICORN_INSTALL_FAILED: { stage: 'cli', meaning: 'setup could not install libunicorn2 with apt-get' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A registered error code: the type of `SeamlabError.code`. */
export type ErrorCode = keyof typeof ERROR_CODES;

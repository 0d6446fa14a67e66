/**
 * The silicon oracle's default instruction budget, in a module with no
 * imports so that `seamlab oracle --help` shows it without loading the
 * oracle (src/cli/main.ts).
 */

/** Instruction budget of an oracle run (the entry points run 10–100 instructions; a single step costs some 30 µs here). */
export const ORACLE_BUDGET = 10_000;

/**
 * The default limits of a run — instruction budget and emulation time —
 * defined once. A module of its own with no imports so that the CLI can show
 * them in its option help without loading the machine (src/cli/main.ts). The
 * time limit is also how long the user's handler code may take to answer one
 * call (src/seam/user-code.ts).
 */

export const DEFAULT_BUDGET = 1_000_000;
export const DEFAULT_TIME_LIMIT_MS = 5_000;

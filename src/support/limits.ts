/**
 * The default limits of a run — instruction budget and emulation time —
 * defined once. A module of its own with no imports so that the CLI can show
 * them in its option help without loading the machine (src/cli/main.ts).
 */

export const DEFAULT_BUDGET = 1_000_000;
export const DEFAULT_TIME_LIMIT_MS = 5_000;

/**
 * The batch driver (asm/batch-driver.S): a position-independent loop that
 * calls one entry point once per row of a table (src/run/batch.ts), built by
 * seamlab's own assembler and linker like any kernel file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainSource } from '../cpp/types.js';
import { SeamlabError } from '../errors.js';
import { assemble } from '../gas/assemble.js';
import { packageRoot } from '../support/package-root.js';
import { linkObject } from './link.js';
import type { Image } from './types.js';

export const BATCH_DRIVER_FILE = 'asm/batch-driver.S';
export const BATCH_DRIVER_SYMBOL = 'seamlab_batch';

export interface DriverCode {
  /** Position-independent bytes of the driver. */
  bytes: Uint8Array;
  /** Offset of `seamlab_batch` in `bytes`. */
  entry: number;
  /** Offset in `bytes` of every global symbol the driver defines in its section (hook sites). */
  globals: Readonly<Record<string, number>>;
}

export function batchDriverSource(): string {
  return readFileSync(join(packageRoot(), BATCH_DRIVER_FILE), 'utf8');
}

let driverCache: DriverCode | undefined;

/** asm/batch-driver.S assembled by seamlab's own GNU-as front end (once per process). */
export function assembleBatchDriver(): DriverCode {
  if (!driverCache) {
    const image = linkObject(assemble(plainSource(BATCH_DRIVER_FILE, batchDriverSource())), { sourceFile: BATCH_DRIVER_FILE, profile: 'default' });
    driverCache = driverFromImage(image);
  }
  return driverCache;
}

/** Takes a driver's code out of an image assembled from asm/batch-driver.S (or another driver: `symbol`, `file`). */
export function driverFromImage(image: Image, symbol = BATCH_DRIVER_SYMBOL, file = BATCH_DRIVER_FILE): DriverCode {
  const sym = image.symbols.find((s) => s.name === symbol);
  const sec = sym && image.sections.find((s) => s.name === sym.section);
  if (!sym || !sec) throw new SeamlabError('BATCH_NO_DRIVER', `${file} did not define ${symbol}`, `restore ${file}`);
  const globals: Record<string, number> = {};
  for (const s of image.symbols) if (s.section === sec.name && s.binding === 'global') globals[s.name] = Number(s.address - sec.address);
  return { bytes: sec.bytes, entry: Number(sym.address - sec.address), globals };
}

const driverCaches = new Map<string, DriverCode>();

/**
 * Another driver in asm/ (e.g. asm/diff-driver.S), assembled by seamlab's
 * front end with `prelude` (symbol definitions) in front; cached per text.
 */
export function assembleDriver(file: string, symbol: string, prelude = ''): DriverCode {
  const key = `${file}\0${symbol}\0${prelude}`;
  let d = driverCaches.get(key);
  if (!d) {
    const text = prelude + readFileSync(join(packageRoot(), file), 'utf8');
    d = driverFromImage(linkObject(assemble(plainSource(file, text)), { sourceFile: file, profile: 'default' }), symbol, file);
    driverCaches.set(key, d);
  }
  return d;
}

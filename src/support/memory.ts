/** Page size of the emulated machine and of the linked image (x86-64 4 KiB pages). */
export const PAGE_SIZE = 0x1000;

export function pageAlignUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

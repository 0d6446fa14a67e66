import { describe, expect, it } from 'vitest';
import { seamlab } from './support/cli.js';

describe('seamlab CLI', () => {
  it('doctor reports the required components and exits 0 on a set-up machine', () => {
    const r = seamlab(['doctor']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok +unicorn +2\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^ok +keystone +0\.9\.2/m);
    expect(r.stdout).toMatch(/^ok +capstone +5\./m);
    expect(r.stdout).toMatch(/^ok +linux-6\.1 +linux-source-6\.1 .*tdxcall\.S blob 49a54356ae99/m);
    expect(r.stdout).toMatch(/^ok +linux-6\.12 +linux-source-6\.12 .*tdxcall\.S blob 016a2a1ec1d6/m);
  });

  it('doctor --json is machine-readable', () => {
    const r = seamlab(['doctor', '--json']);
    const { items } = JSON.parse(r.stdout) as { items: { name: string; ok: boolean; required: boolean }[] };
    expect(items.filter((i) => i.required).every((i) => i.ok)).toBe(true);
    expect(items.map((i) => i.name)).toContain('oracle gcc');
  });

  it('doctor fails, naming the fix, when Unicorn cannot be loaded', () => {
    const r = seamlab(['doctor'], { SEAMLAB_LIBUNICORN: '/nonexistent/libunicorn.so.2' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL unicorn .*SEAMLAB_LIBUNICORN=\/nonexistent.*-> run scripts\/setup/m);
  });

  it('prints user errors without a stack trace, with a hint, and exits 2', () => {
    const r = seamlab(['setup', '--tree', 'linux-6.1'], { SEAMLAB_LIBUNICORN: '/nonexistent/libunicorn.so.2' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot load SEAMLAB_LIBUNICORN=\/nonexistent\/libunicorn\.so\.2 \[UNICORN_MISSING\]$/m);
    expect(r.stderr).toMatch(/^  hint: /m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('rejects an unknown command with exit code 2', () => {
    const r = seamlab(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

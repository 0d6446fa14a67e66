/**
 * The toolchain seamlab models when it evaluates a tree's Kconfig and
 * Makefiles: gcc 12.2.0 with GNU binutils 2.40 (Debian 12), no clang, no
 * Rust — the compiler the Debian kernel packages of this era are built
 * with, and the one the oracle tests run.
 *
 * Kconfig asks the toolchain questions by running commands (`cc-option`,
 * `as-instr`, version scripts, small compile tests). seamlab must run where
 * no compiler exists, so the answers are data here; `cpp-toolchain.test.ts`
 * runs every probe found in the built-in trees against the installed
 * toolchain and fails if an answer differs.
 */
import { GCC_ASM_PREDEFINES, MODELLED_GCC } from '../predefined.js';

export interface Toolchain {
  describe: string;
  /** Variables Kbuild exports to Kconfig (CC, LD, CC_VERSION_TEXT …). */
  kconfigEnv: Record<string, string>;
  /** `$(cc-option,FLAGS)`: gcc -Werror FLAGS -c -x c /dev/null succeeds. */
  ccOption(flags: string): boolean;
  /** `$(ld-option,FLAG)`: ld -v FLAG succeeds. */
  ldOption(flag: string): boolean;
  /** `$(as-instr,TEXT)`: the assembler accepts TEXT. */
  asInstr(text: string): boolean;
  /** A shell command from `$(shell,…)` / `$(success,…)`; undefined when the model does not know it. */
  command(cmd: string): { ok: boolean; stdout: string } | undefined;
}

/** gcc flags probed by the trees' Kconfig/Makefiles that gcc 12.2 rejects (clang-only or newer gcc). */
const GCC12_REJECTS = [
  /^-fsanitize=kcfi\b/,
  /^-mllvm\b/,
  /^-Wunreachable-code-fallthrough$/,
  /^-fmin-function-alignment=/,
  /^-finline-stringops=/,
  /^-gz=zstd$/,
  /^-fsanitize-cfi-icall-experimental-normalize-integers$/,
  /^-fstrict-flex-arrays(=|$)/,
  // Renamed to -fallow-store-data-races in gcc 10.
  /^--param=allow-store-data-races=/,
  // clang-only sanitizers and options, or gcc 13+ parameters.
  /^-frandomize-layout-seed-file=/,
  /^-fsanitize=(array-bounds|local-bounds|kernel-hwaddress|kernel-memory)$/,
  /^-fsanitize-memory-param-retval$/,
  /^--param=(tsan-compound-read-before-write|asan-kernel-mem-intrinsic-prefix)=/,
];

/** gcc's own predefined macro names: `-D` of one of them is a "redefined" warning, an error under -Werror. */
const PREDEFINED_NAMES = new Set(
  GCC_ASM_PREDEFINES.split('\n')
    .map((l) => /^#define (\w+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined),
);

/** Compile-test snippets (`echo '…' | $(CC) …`) and whether gcc 12.2 compiles them. */
const COMPILE_PROBES: [RegExp, boolean][] = [
  [/asm inline \(""\)/, true],
  [/asm goto\(""::::l0\)/, true],
  [/asm goto \("": "=r"\(x\)/, true],
  [/asm goto \("\.long \(%l\[bar\]\) - \.": "\+m"/, true],
  [/__counted_by__/, false],
  [/__seg_fs/, true],
  [/no_profile_instrument_function/, true],
];

const SCRIPT_PROBES: [RegExp, { ok: boolean; stdout: string }][] = [
  [/scripts\/rust_is_available\.sh/, { ok: false, stdout: '' }],
  [/scripts\/cc-can-link\.sh/, { ok: true, stdout: '' }],
  [/scripts\/gcc-x86_(64|32)-has-stack-protector\.sh/, { ok: true, stdout: '' }],
  [/scripts\/tools-support-relr\.sh/, { ok: true, stdout: '' }],
  [/^objcopy --version \| head -n ?1 \| grep -qv llvm$/, { ok: true, stdout: '' }],
  [/^(nm|ar) --help \| head -n 1 \| grep -qi llvm$/, { ok: false, stdout: '' }],
  [/scripts\/cc-version\.sh gcc$/, { ok: true, stdout: `${MODELLED_GCC.name} ${MODELLED_GCC.versionCode}` }],
  [/scripts\/as-version\.sh gcc\s*$/, { ok: true, stdout: 'GNU 24000' }],
  [/scripts\/ld-version\.sh ld$/, { ok: true, stdout: 'BFD 24000' }],
  [/scripts\/rustc-version\.sh rustc$/, { ok: false, stdout: '0' }],
  [/scripts\/rustc-llvm-version\.sh rustc$/, { ok: false, stdout: '0' }],
  [/scripts\/pahole-version\.sh pahole$/, { ok: true, stdout: '0' }],
  [/^rustc --version 2>\/dev\/null$/, { ok: false, stdout: '' }],
  // Without gcc's plugin headers (Debian's gcc-12-plugin-dev) gcc prints the bare name.
  [/^gcc -print-file-name=plugin$/, { ok: true, stdout: 'plugin' }],
  [/^bindgen --version .*2>\/dev\/null$/, { ok: false, stdout: '' }],
];

/** Evaluates `test …` the way /bin/sh does for the forms Kconfig uses. */
function shTest(args: string[]): boolean | undefined {
  const unq = args.map((a) => a.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
  // No file exists in the modelled toolchain's world that Kconfig could probe for.
  if (unq.length === 2 && ['-e', '-f', '-d', '-r', '-x'].includes(unq[0]!)) return false;
  if (unq.length === 2 && unq[0] === '-z') return unq[1] === '';
  if (unq.length === 2 && unq[0] === '-n') return unq[1] !== '';
  if (unq.length === 3) {
    const [a, op, b] = unq as [string, string, string];
    const na = Number(a);
    const nb = Number(b);
    switch (op) {
      case '=':
        return a === b;
      case '!=':
        return a !== b;
      case '-eq':
        return na === nb;
      case '-ne':
        return na !== nb;
      case '-ge':
        return na >= nb;
      case '-gt':
        return na > nb;
      case '-le':
        return na <= nb;
      case '-lt':
        return na < nb;
    }
  }
  return undefined;
}

/** Splits a command line into words, keeping quotes (enough for `test` and `set --`). */
function words(cmd: string): string[] {
  return cmd.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
}

export const GCC12_TOOLCHAIN: Toolchain = {
  describe: `gcc ${MODELLED_GCC.version} with GNU binutils 2.40 (Debian 12); no clang, no Rust`,
  kconfigEnv: {
    CC: 'gcc',
    LD: 'ld',
    NM: 'nm',
    AR: 'ar',
    OBJCOPY: 'objcopy',
    RUSTC: 'rustc',
    BINDGEN: 'bindgen',
    PAHOLE: 'pahole',
    PYTHON3: 'python3',
    CLANG_FLAGS: '',
    USERCFLAGS: '',
    USERLDFLAGS: '',
    CC_VERSION_TEXT: `gcc (Debian 12.2.0-14+deb12u1) ${MODELLED_GCC.version}`,
  },
  ccOption(flags) {
    return flags
      .replace(/--param\s+/g, '--param=')
      .split(/\s+/)
      .filter((f) => f !== '')
      .every((f) => !GCC12_REJECTS.some((r) => r.test(f)) && !(f.startsWith('-D') && PREDEFINED_NAMES.has(f.slice(2).split('=')[0]!)));
  },
  ldOption() {
    return true;
  },
  asInstr() {
    return true;
  },
  command(cmd) {
    const w = words(cmd);
    if (w[0] === 'test') {
      const r = shTest(w.slice(1));
      return r === undefined ? undefined : { ok: r, stdout: '' };
    }
    const setEcho = /^set -- (.*) && echo \$(\d)$/.exec(cmd);
    if (setEcho) {
      const ws = words(setEcho[1]!);
      return { ok: true, stdout: ws[Number(setEcho[2]) - 1] ?? '' };
    }
    if (/^command -v \S+$/.test(cmd)) return { ok: true, stdout: '' };
    if (/^echo '.*' \| \S+ /.test(cmd)) {
      for (const [re, ok] of COMPILE_PROBES) if (re.test(cmd)) return { ok, stdout: '' };
      return undefined;
    }
    for (const [re, r] of SCRIPT_PROBES) if (re.test(cmd)) return r;
    return undefined;
  },
};

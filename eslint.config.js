// ESLint (flat config) with typescript-eslint: `npm run lint`, one step of `npm test`.
//
// Type-aware (recommendedTypeChecked), because the rules that need types are the ones that find bugs here:
// an await of a non-promise, a floating or misused promise, a thrown non-Error, a method handed on without
// its `this`, `any` from JSON or the FFI flowing on unchecked, an object printed as "[object Object]". It
// builds the program tsc builds: ≈40 s of CPU for the whole tree (tsc --noEmit ≈15 s, the plain `recommended`
// set ≈11 s), which a 2-core CI machine affords within npm test's ≈10 minutes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'test-artifacts/', 'bench-results/', 'fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // vitest.config.ts is in no tsconfig; src/report/html/page/ has its own (DOM) tsconfig, which the service finds.
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore marks a name left unused on purpose (a skipped parameter, a field dropped by a rest pattern).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      // Terminal escapes (\x1b) and control bytes in names and object files are what these regexes are about.
      'no-control-regex': 'off',
      // Expected-output regexes write the blanks of column-aligned text as the text has them.
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // vitest types its asymmetric matchers (expect.objectContaining, expect.stringMatching, …) as `any` on purpose.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  // Plain JavaScript (this file, scripts/build.mjs) is in no tsconfig: no type information for it.
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);

// Type-aware linting of everything TypeScript (src, __tests__, test-target, scripts, bench), with the jest plugin
// for the tests. JavaScript files are linted without type information (they are outside the TypeScript
// project).
import js from '@eslint/js';
import jest from 'eslint-plugin-jest';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'build/', 'coverage/', '.test-output/', '.stryker-tmp*/', 'reports/'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Ports, counts, pids and durations are interpolated into shell scripts and messages on purpose; the
      // strict preset forbids numbers there. Booleans, nullish values and objects stay forbidden.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Delegating callbacks are written as arrow shorthands (`(m) => core.info(m)`,
      // `(error) => (error ? reject(error) : resolve())`); the rule still flags `return voidCall()`.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Contradicts no-non-null-assertion (strict): it rewrites `x as T` to `x!`, which that rule forbids.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
    },
  },
  {
    // Small modules that read top to bottom: no source file over 300 lines, no function over 60.
    files: ['src/**/*.ts', 'test-target/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 60 }],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['__tests__/**'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      // `expect(fake.method).toHaveBeenCalled()` is not a call: the jest plugin's version knows that.
      '@typescript-eslint/unbound-method': 'off',
      'jest/unbound-method': 'error',
      // Fakes implement Promise-returning interfaces (Remote, the health probe) with `async () => value`;
      // `() => Promise.resolve(value)` says the same less clearly. Missing awaits are still caught by
      // no-floating-promises and await-thenable.
      '@typescript-eslint/require-await': 'off',
    },
  },
);

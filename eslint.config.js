// ESLint flat config: typescript-eslint's type-aware rules over src/, bench/ and test/. Rules
// are switched off here, each with its reason, rather than by disable comments in the code.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', '.test-build/', 'node_modules/', 'native/', 'docker-test/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // one TypeScript program per tsconfig, shared by every file (tsconfig.json covers all three)
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // what the lint is for (all in recommendedTypeChecked; named here so they are not lost):
      // a promise nobody awaits or catches, a promise where a plain value is expected (an async
      // callback to an event emitter), and code nothing uses
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // a leading underscore marks a parameter kept for a signature (callbacks, interfaces)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // `x!` after an indexed access is the house style: the code is written for
      // noUncheckedIndexedAccess (see tsconfig.json), so these assertions are not noise
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // wire codecs compare raw numbers read from packets with numeric enums by design
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // an async function without await keeps a Promise-returning contract (bench `run`, transport
      // `open`, test harness methods) and turns a throw into a rejection
      '@typescript-eslint/require-await': 'off',
      // object-literal getters that read their owner through an alias (node.ts hands the switch live views)
      '@typescript-eslint/no-this-alias': 'off',
      // a variable set in a callback reads as `never` after its null check (TypeScript's narrowing
      // does not see the callback), as in the benches' `errno ${failed}`
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.stringMatching, expect.any) are typed `any`
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // the web UI: browser code in its own TypeScript program (ui/tsconfig.json, DOM and JSX)
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // the web UI's build script runs under Node
    files: ['ui/build.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // the config files themselves: plain ESLint recommended, no type information
    files: ['*.config.js', '*.config.ts'],
    extends: [tseslint.configs.recommended],
  },
);

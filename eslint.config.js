// Lint and format rules for src/, test/ and scripts. neostandard is the style
// the code was written in (no semicolons, space before a function's
// parenthesis) and fixes it with --fix, so it is the formatter too;
// typescript-eslint's strict type-checked set is the type-aware half.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.tap/**'] },

  ...neostandard({ ts: true }),
  ...tseslint.configs.strictTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
  },
  // Where the strict set does not fit this code base; each entry says why.
  {
    files: ['**/*.ts'],
    rules: {
      // Numbers and booleans print as one expects in messages and paths
      // (sizes, pids, exit codes); the rule still catches objects,
      // undefined and null, which print as [object Object] or 'undefined'.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // A `!` here states an invariant the code keeps (a spawned child has a
      // pid, an entry put in a map just above is there); a mechanical pass
      // cannot replace it with a runtime check without changing behaviour.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tap tracks the promise its t.test/t.skip/t.todo return and runs
      // subtests in order, so not awaiting one is the documented usage.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: ['test', 'skip', 'todo'] }],
      }],
    },
  },
  // In test/: tests read JSON the CLI printed (inspect, ls --format json) and check it
  // with t.same/t.equal/t.match: the assertion is the type check, and typing
  // every document a test reads would repeat src/'s types for no catch.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // tap ends a test when its callback's promise settles; a plain callback
      // would have to call t.end(). So a test callback is async whether or
      // not it awaits anything yet.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The decoder generated from the request declaration (scripts/
  // gen-fuse-requests.mjs) takes the addon's positional arguments, which N-API
  // hands over untyped; test/native/fuse-requests.ts checks them against
  // native/, which is the check this rule would stand in for.
  { files: ['src/native/fuse-requests.ts'], rules: { '@typescript-eslint/no-unsafe-assignment': 'off' } },
  // The code validates what comes from outside (manifests, configs, TOCs,
  // auth.json, regex groups, array indexes) against types that describe a
  // valid document; without noUncheckedIndexedAccess this rule calls those
  // checks unnecessary, and removing them would let malformed input through
  // (78 findings, all of that kind or of state set in a callback). Turn it
  // back on together with noUncheckedIndexedAccess in tsconfig.json.
  { files: ['**/*.ts'], rules: { '@typescript-eslint/no-unnecessary-condition': 'off' } },
  // JSON documents read from disk (repositories.json, auth.json) are records
  // keyed by digest or host; delete is how a key leaves one.
  { files: ['**/*.ts'], rules: { '@typescript-eslint/no-dynamic-delete': 'off' } },
  // The code names a promise's executor arguments after what they do in a
  // one-line body (r, res/rej, done); neostandard wants resolve/reject.
  { rules: { 'promise/param-names': 'off' } },
  // `void promise` is how no-floating-promises asks a deliberately unawaited
  // promise to be marked; neostandard's no-void would forbid that mark.
  { rules: { 'no-void': ['error', { allowAsStatement: true }] } },
]

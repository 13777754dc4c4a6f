// Lint and format rules for src/, test/ and scripts. neostandard is the style
// the code was written in (no semicolons, space before a function's
// parenthesis) and fixes it with --fix, so it is the formatter too;
// typescript-eslint's strict type-checked set is the type-aware half.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.tap/**'] },
  // TEMPORARY: being changed on other branches (lead removes after merge).
  // These files get --fix and the type-aware fixes once those branches land;
  // until then lint skips them so it can run in npm test meanwhile.
  {
    ignores: [
      'src/fuse/**',
      'native/**',
      'src/cli/daemon-main.ts',
      'src/image/layer-archive.ts',
      'src/image/commit-container.ts',
      'src/image/container-diff.ts',
      'src/run/run-container.ts',
    ],
  },
  ...neostandard({ ts: true }),
  ...tseslint.configs.strictTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
  },
]

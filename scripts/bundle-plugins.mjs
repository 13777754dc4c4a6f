// esbuild plugins for scripts/bundle-entries.mjs: what esbuild's CommonJS
// output does not do by itself, and one start-up cost of a dependency's.
// A bundle defines __strataBundleUrl (its own file URL) in its banner.
import fs from 'node:fs'
import path from 'node:path'

/** Rewrites import.meta.url in every inlined module to that module's own URL, relative to a bundle in `outDir`. */
export const ownImportMetaUrl = (outDir) => ({
  name: 'own-import-meta-url',
  setup (b) {
    b.onLoad({ filter: /\.m?js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const rel = path.relative(outDir, args.path)
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, __strataBundleUrl).href`), loader: 'js' }
    })
  },
})

/**
 * string-width, which yargs, cliui and cli-progress import, builds an
 * Intl.Segmenter and its Unicode-property regexes as it loads: ~25 ms of a
 * 100 ms `strata images`, though no width of a non-ASCII string is asked.
 * Each import gets a stand-in that answers printable ASCII itself (one
 * column a character, as every version says) and loads the version that
 * import resolved to for anything else, on first need.
 */
export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup (b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined
      const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'real' })
      if (real.errors.length > 0) return { errors: real.errors }
      return { path: real.path, namespace: 'lazy-string-width' }
    })
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let real
const ascii = /^[\\x20-\\x7e]*$/
function stringWidth (text, options) {
  if (typeof text === 'string' && ascii.test(text)) return text.length
  if (real === undefined) { const m = require(${JSON.stringify(args.path)}); real = typeof m === 'function' ? m : m.default }
  return real(text, options)
}
module.exports = stringWidth
module.exports.default = stringWidth
`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }))
  },
}

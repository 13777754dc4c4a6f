// Bundles the entry points that are on a caller's clock into one CommonJS
// file each, next to tsc's output (dist/cli/NAME.cjs), from that output, so
// that the bundle runs exactly the code tsc emitted. Node 20 spends ~20 ms of
// a mount daemon's ~40 ms to "ok" in its ES module loader (resolving, reading
// and linking ~25 modules, and loading the loader itself); one CommonJS file
// skips all of it. esbuild does the bundling; what it cannot express is done
// here: each inlined module keeps its own import.meta.url (esbuild's CommonJS
// output has none), as a URL relative to the bundle's, so that paths found
// from it (the addon, package.json, yargs's locales) are what they were and
// the tree can still move. The full CLI stays a separate module graph for
// umount-main, imported only by a line it does not take.
import path from 'node:path'
import { build } from 'esbuild'
import { lazyStringWidth, ownImportMetaUrl } from './bundle-plugins.mjs'

const ENTRIES = [
  // bin/strata's cold mount line (no spare waiting): fuse-overlayfs's line, podman's mount_program.
  'mount-line-main',
  // `strata mount NAME`, run, build: src/fuse/mount-in-background.ts.
  'daemon-main',
  // bin/strata's umount when no spare took it.
  'umount-main',
  // Every other command, and a container's __init and __supervise: the
  // command modules are inlined, each evaluated only when its line loads it.
  'main',
]

const OUT_DIR = path.resolve('dist/cli')

await Promise.all(ENTRIES.map((name) => build({
  entryPoints: [`dist/cli/${name}.js`],
  outfile: `dist/cli/${name}.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: name === 'main' ? [] : ['./main.js'],
  plugins: [ownImportMetaUrl(OUT_DIR), lazyStringWidth],
  banner: { js: "'use strict';\nconst __strataBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
})))

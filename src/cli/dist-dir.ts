// The compiled tree's root (dist/). From a file directly in cli/, so it
// resolves the same whether this module runs as tsc emitted it or inlined in
// a bundle (scripts/bundle-entries.mjs writes them to dist/cli/ too); a file
// deeper down (commands/) would not: its import.meta.url is the bundle's.
import { fileURLToPath } from 'node:url'

export const DIST_DIR = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')

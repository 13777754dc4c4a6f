// Guards the import graph that ../shared/DESIGN.md draws: every import in
// src/ points down (or stays within its own module), never up. A module's
// rank is its height in the drawing; an import from a higher rank is a cycle
// waiting to happen and fails here, naming the file and the import.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')

/** Height of each top-level module of src/; equal heights may import each other. */
export const RANK: Record<string, number> = {
  cli: 9,
  bench: 8,
  builder: 7,
  run: 6,
  image: 5,
  registry: 5,
  fuse: 4,
  union: 3,
  store: 2,
  oci: 1,
  native: 0,
  base: 0,
}

function * files (dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) yield * files(p)
    else if (e.name.endsWith('.ts')) yield p
  }
}

const moduleOf = (file: string): string => path.relative(src, file).split(path.sep)[0]

t.test('every module of src/ has a rank', async (t) => {
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.isDirectory()) t.ok(e.name in RANK, `src/${e.name} is placed in the import graph`)
  }
})

t.test('imports point down the graph', async (t) => {
  const wrong: string[] = []
  let seen = 0
  for (const file of files(src)) {
    const from = moduleOf(file)
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      seen++
      const target = path.resolve(path.dirname(file), m[1])
      const to = moduleOf(target)
      if (to === from) continue
      if (!(to in RANK) || !(from in RANK) || RANK[to] > RANK[from]) {
        wrong.push(`${path.relative(src, file)} imports ${m[1]} (${from} → ${to})`)
      }
    }
  }
  t.ok(seen > 100, `read the imports of src/ (${seen})`)
  t.same(wrong, [], 'no import points up')
})

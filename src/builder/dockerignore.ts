// .dockerignore, as docker reads it: one pattern a line (path-pattern.ts),
// blank lines and #-comments skipped, "!" re-including what an earlier
// pattern excluded; the last pattern that matches a path decides. A pattern
// that matches a directory excludes everything under it (unless a later
// "!" pattern brings a path back).
import fs from 'node:fs'
import path from 'node:path'
import { cleanPattern, pathPattern } from './path-pattern.js'

interface Rule { re: RegExp, exclude: boolean }

export class Dockerignore {
  private readonly rules: Rule[]

  constructor (text: string) {
    this.rules = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).flatMap((l) => {
      const exclude = !l.startsWith('!')
      const p = cleanPattern(exclude ? l : l.slice(1))
      return p ? [{ re: pathPattern(p), exclude }] : []
    })
  }

  /** Reads <context>/.dockerignore; none means nothing is excluded. */
  static load (context: string): Dockerignore {
    const f = path.join(context, '.dockerignore')
    return new Dockerignore(fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '')
  }

  /** Is `rel` (relative to the context, "/"-separated) left out? */
  excludes (rel: string): boolean {
    const parts = cleanPattern(rel).split('/')
    let out = false
    for (const r of this.rules) {
      // The path itself or one of its parent directories.
      for (let n = parts.length; n > 0; n--) {
        if (r.re.test(parts.slice(0, n).join('/'))) { out = r.exclude; break }
      }
    }
    return out
  }
}

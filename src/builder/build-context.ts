// The build context: the directory COPY and ADD take files from, less what
// .dockerignore leaves out. Every source is checked to stay inside the
// context (no "..", no symlinked parent leading out), and globs are matched
// against the context's own entries.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { Dockerignore } from './dockerignore.js'
import { hasGlob, pathPattern } from './path-pattern.js'

export interface ContextEntry {
  /** "/"-separated path relative to the context ('' for the context itself). */
  rel: string
  abs: string
  st: fs.Stats
}

/** Where COPY takes files from: the context, or a stage's or image's files (stage-files.ts). */
export interface CopySource {
  /** What a source names: one entry, or those a glob matches; `what` names the instruction in errors. */
  sources: (src: string, what: string) => ContextEntry[]
  /** The entries under a directory source (not the directory itself), parents first. */
  under: (dir: ContextEntry) => ContextEntry[]
}

export class BuildContext implements CopySource {
  readonly root: string
  readonly ignore: Dockerignore
  private all: ContextEntry[] | null = null

  constructor (dir: string) {
    const st = fs.statSync(dir, { throwIfNoEntry: false })
    if (!st?.isDirectory()) throw errnoError('ENOENT', `build context ${dir}: no such directory`)
    this.root = fs.realpathSync(dir)
    this.ignore = Dockerignore.load(this.root)
  }

  /** Every entry not excluded, parents before children, sorted by name. */
  entries (): ContextEntry[] {
    if (this.all) return this.all
    const out: ContextEntry[] = []
    const walk = (rel: string): void => {
      for (const name of fs.readdirSync(path.join(this.root, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name
        const abs = path.join(this.root, r)
        const st = fs.lstatSync(abs)
        // An excluded dir is still walked: a "!" pattern may bring back a path inside it.
        if (!this.ignore.excludes(r)) out.push({ rel: r, abs, st })
        if (st.isDirectory()) walk(r)
      }
    }
    walk('')
    this.all = out
    return out
  }

  /** The entries under a directory source (not the directory itself). */
  under (dir: ContextEntry): ContextEntry[] {
    if (dir.rel === '') return this.entries()
    return this.entries().filter((e) => e.rel.startsWith(dir.rel + '/'))
  }

  /**
   * What a COPY/ADD source names: one entry, or those a glob matches.
   * `what` names the instruction in errors.
   */
  sources (src: string, what: string): ContextEntry[] {
    const rel = path.posix.normalize(src.replace(/^\/+/, '') || '.')
    if (rel === '..' || rel.startsWith('../')) throw errnoError('EPERM', `${what}: ${src}: forbidden path outside the build context`)
    const clean = rel === '.' ? '' : rel.replace(/\/+$/, '')
    if (hasGlob(clean)) {
      const re = pathPattern(clean)
      const found = this.entries().filter((e) => re.test(e.rel))
      if (!found.length) throw errnoError('ENOENT', `${what}: no source files were specified by "${src}" (none in the build context matches, or .dockerignore excludes them)`)
      return found
    }
    const abs = path.join(this.root, clean)
    const st = fs.lstatSync(abs, { throwIfNoEntry: false })
    if (!st || (clean && this.ignore.excludes(clean))) throw errnoError('ENOENT', `${what}: file not found in build context or excluded by .dockerignore: ${src}`)
    // A symlinked parent must not lead out of the context.
    const real = clean ? fs.realpathSync(path.dirname(abs)) : this.root
    if (real !== this.root && !real.startsWith(this.root + '/')) throw errnoError('EPERM', `${what}: ${src}: forbidden path outside the build context (through a symlink)`)
    return [{ rel: clean, abs, st }]
  }
}

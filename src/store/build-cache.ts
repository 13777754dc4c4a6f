// The build cache: <root>/build-cache/<hex key> holds the manifest digest of
// the image a build step made. The key is a sha256 the builder computes from
// the step's parent image, instruction and inputs; this file only stores and
// finds. Entries are written atomically; garbage collection treats the
// images they name as in use, and `image prune` clears them. A reader must
// tolerate an entry whose image is gone (it is a miss, not an error).
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../base/atomic-file.js'

const KEY = /^[0-9a-f]{64}$/

export class BuildCache {
  readonly dir: string

  constructor (root: string) {
    this.dir = path.join(root, 'build-cache')
    fs.mkdirSync(this.dir, { recursive: true })
  }

  get (key: string): string | null {
    if (!KEY.test(key)) return null
    try {
      const v = fs.readFileSync(path.join(this.dir, key), 'utf8').trim()
      return /^sha256:[0-9a-f]{64}$/.test(v) ? v : null
    } catch {
      return null
    }
  }

  /** Callers hold the store lock (the entry keeps an image from collection). */
  put (key: string, manifestDigest: string): void {
    writeFileAtomic(path.join(this.dir, key), manifestDigest + '\n')
  }

  /** The manifest digests the cache refers to. */
  manifests (): string[] {
    return fs.readdirSync(this.dir).filter((n) => KEY.test(n)).map((n) => this.get(n)).filter((d): d is string => d !== null)
  }

  /** Forgets every entry; returns how many there were. */
  clear (): number {
    const keys = fs.readdirSync(this.dir).filter((n) => KEY.test(n))
    for (const k of keys) fs.rmSync(path.join(this.dir, k), { force: true })
    return keys.length
  }
}

// COPY --from's source: the files of an earlier stage's image or of an
// image in the store, read through an ImageTree (the union of its extracted
// layers, no mount), offered to planCopy with the same shape as the build
// context's entries. Source paths are absolute in that image (a relative
// one is from its root, as docker takes it); symlinks in the parents are
// followed inside the image, the last one is copied as a link. Owners are
// kept unless --chown (BuildKit's rule; the classic builder made them 0:0,
// as it does for the context). The .dockerignore does not apply, and globs are not supported here. Valid
// while the tree it reads is open.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import type { CopySource, ContextEntry } from './build-context.js'
import type { ImageTree } from './image-tree.js'
import { hasGlob } from './path-pattern.js'

export class StageFiles implements CopySource {
  constructor (private readonly tree: ImageTree, private readonly name: string) {}

  private entry (rel: string, id: number): ContextEntry {
    const abs = this.tree.backingPath(id)
    if (abs === null) throw errnoError('EIO', `COPY --from=${this.name}: cannot read /${rel} in the image`)
    return { rel, abs, st: fs.lstatSync(abs) }
  }

  sources (src: string, what: string): ContextEntry[] {
    const abs = path.posix.resolve('/', src)
    if (hasGlob(abs)) throw errnoError('ENOTSUP', `${what} --from=${this.name}: wildcards in the source (${src}) are not supported; name the file or directory`)
    const found = this.tree.resolve(abs, false)
    if (found.attr === null || found.id === null) throw errnoError('ENOENT', `${what} --from=${this.name}: ${src}: no such file or directory in the image`)
    return [this.entry(found.path.slice(1), found.id)]
  }

  under (dir: ContextEntry): ContextEntry[] {
    const out: ContextEntry[] = []
    const start = this.tree.resolve('/' + dir.rel, false)
    const walk = (id: number, rel: string): void => {
      for (const name of this.tree.list(id)) {
        const c = this.tree.child(id, name)
        if (!c) continue
        const r = rel ? `${rel}/${name}` : name
        const e = this.entry(r, c.id)
        out.push(e)
        if (e.st.isDirectory()) walk(c.id, r)
      }
    }
    walk(start.id!, dir.rel)
    return out
  }
}

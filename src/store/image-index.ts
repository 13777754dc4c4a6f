// The store's index.json (an OCI image index): one manifest descriptor per
// tag, annotated with org.opencontainers.image.ref.name; an image whose last
// tag went keeps an entry without a name (dangling) until pruned. Every
// change rewrites index.json atomically. Callers hold the store lock.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { writeFileAtomic } from '../base/atomic-file.js'
import { MT, REF_NAME, type Descriptor, type ImageIndexDoc } from '../oci/oci-types.js'

export class ImageIndex {
  private readonly file: string

  constructor (root: string) {
    this.file = path.join(root, 'index.json')
    if (!fs.existsSync(this.file)) this.save({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] })
  }

  load (): ImageIndexDoc {
    let doc: ImageIndexDoc
    try {
      doc = JSON.parse(fs.readFileSync(this.file, 'utf8')) as ImageIndexDoc
    } catch (err) {
      throw errnoError('EUCLEAN', `the store index ${this.file} is corrupt (${(err as Error).message}); strata system check --repair rebuilds it`)
    }
    if (!Array.isArray(doc.manifests)) throw errnoError('EUCLEAN', `the store index ${this.file} has no manifests list`)
    return doc
  }

  private save (doc: ImageIndexDoc): void {
    writeFileAtomic(this.file, JSON.stringify(doc, null, 2) + '\n')
  }

  entries (): Descriptor[] {
    return this.load().manifests
  }

  /** Points `name` at `desc`; the image it named before stays, dangling if it has no other name. */
  tag (name: string, desc: Descriptor): void {
    const doc = this.load()
    const old = doc.manifests.find((m) => m.annotations?.[REF_NAME] === name)
    doc.manifests = doc.manifests.filter((m) => m !== old && !(m.digest === desc.digest && !m.annotations?.[REF_NAME]))
    if (old && old.digest !== desc.digest && !doc.manifests.some((m) => m.digest === old.digest)) {
      doc.manifests.push({ ...old, annotations: undefined })
    }
    doc.manifests.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [REF_NAME]: name } })
    this.save(doc)
  }

  /** Removes a name; returns whether the image is left with no name. */
  untag (name: string): boolean {
    const doc = this.load()
    const old = doc.manifests.find((m) => m.annotations?.[REF_NAME] === name)
    if (!old) throw errnoError('ENOENT', `no image named ${name}`)
    doc.manifests = doc.manifests.filter((m) => m !== old)
    const last = !doc.manifests.some((m) => m.digest === old.digest)
    this.save(doc)
    return last
  }

  /** Adds an image with no name (kept until pruned). */
  addDangling (desc: Descriptor): void {
    const doc = this.load()
    if (doc.manifests.some((m) => m.digest === desc.digest)) return
    doc.manifests.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size })
    this.save(doc)
  }

  /** Forgets a manifest entirely (all its names). */
  drop (digest: string): void {
    const doc = this.load()
    doc.manifests = doc.manifests.filter((m) => m.digest !== digest)
    this.save(doc)
  }
}

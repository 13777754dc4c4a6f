// Containers: a writable layer on an image. containers/<id>/ holds upper/,
// work/ and config.json (name, image, created). Names are unique.
// A container appears whole (made under .tmp-<pid>-<id>, renamed) and
// disappears whole (renamed to .doomed-<pid>-<id>, then deleted): a crash
// leaves a temp name the next open sweeps, never a half container under
// <id>. A dir under a plain name without config.json is a leftover of an
// older strata; `system check` reports and removes it.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { errnoError } from '../base/errno-error.js'
import { fsyncDir, writeFileAtomic } from '../base/atomic-file.js'
import { killPoint } from '../base/kill-point.js'
import { ownedPrefix, removeDoomed, removeStaleTemp, staleTemp } from './stale-temp.js'

export interface ContainerRecord {
  id: string
  name: string
  /** The image's manifest digest. */
  manifest: string
  /** The name it was created from, for display. */
  imageName: string
  created: string
}

export class ContainerStore {
  readonly dir: string

  constructor (root: string, sweep = true) {
    this.dir = path.join(root, 'containers')
    fs.mkdirSync(this.dir, { recursive: true })
    if (sweep) removeStaleTemp(this.dir, (n) => n.startsWith('.'))
  }

  /** Temp dirs (half-made or half-removed containers) of commands that died. */
  staleTemp (): string[] {
    return staleTemp(this.dir, (n) => n.startsWith('.'))
  }

  /** Dirs under a container's name with no readable config.json. */
  broken (): string[] {
    return fs.readdirSync(this.dir).filter((id) => {
      if (id.startsWith('.')) return false
      try { JSON.parse(fs.readFileSync(path.join(this.dir, id, 'config.json'), 'utf8')); return false } catch { return true }
    })
  }

  /** Removes a dir by name (a broken container). */
  removeDir (id: string): void {
    removeDoomed(this.dir, id)
  }

  list (): ContainerRecord[] {
    const out: ContainerRecord[] = []
    for (const id of fs.readdirSync(this.dir)) {
      if (id.startsWith('.')) continue
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(this.dir, id, 'config.json'), 'utf8')) as ContainerRecord)
      } catch { /* a container being created or removed */ }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created))
  }

  find (nameOrId: string): ContainerRecord | null {
    const all = this.list()
    return all.find((c) => c.name === nameOrId) ?? all.find((c) => c.id === nameOrId) ??
      (nameOrId.length >= 4 ? all.filter((c) => c.id.startsWith(nameOrId)).at(0) ?? null : null)
  }

  get (nameOrId: string): ContainerRecord {
    const c = this.find(nameOrId)
    if (!c) throw errnoError('ENOENT', `no container "${nameOrId}" (strata container ls lists them)`)
    return c
  }

  upper (c: ContainerRecord): string { return path.join(this.dir, c.id, 'upper') }
  work (c: ContainerRecord): string { return path.join(this.dir, c.id, 'work') }

  create (name: string | undefined, manifest: string, imageName: string): ContainerRecord {
    const id = crypto.randomBytes(32).toString('hex')
    const finalName = name ?? `strata_${id.slice(0, 8)}`
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(finalName)) throw errnoError('EINVAL', `invalid container name "${finalName}"`)
    if (this.find(finalName)) throw errnoError('EEXIST', `a container named "${finalName}" exists already`)
    const tmp = ownedPrefix(this.dir, '.tmp-') + id
    fs.mkdirSync(path.join(tmp, 'upper'), { recursive: true })
    fs.mkdirSync(path.join(tmp, 'work'))
    const rec: ContainerRecord = { id, name: finalName, manifest, imageName, created: new Date().toISOString() }
    writeFileAtomic(path.join(tmp, 'config.json'), JSON.stringify(rec, null, 2) + '\n')
    killPoint('container-filled')
    fs.renameSync(tmp, path.join(this.dir, id))
    fsyncDir(this.dir)
    return rec
  }

  remove (c: ContainerRecord): void {
    removeDoomed(this.dir, c.id)
  }
}

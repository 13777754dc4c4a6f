// COPY and ADD as a layer, without a mount: planCopy() works out what goes
// where (docker's rules: a directory source copies its contents, several
// sources need a destination ending in "/", a destination that is a
// directory in the image — or the WORKDIR, or "." — takes files by their
// names, a relative destination is under the WORKDIR, the image's own
// symlinks are followed) and a digest of every name, mode, owner and content
// for the build cache; writeCopyLayer() lays the files out in a staging dir
// and writes it as a layer tar. ADD unpacks a local tar (plain, gzip, bzip2
// or xz) at the destination, by docker's rules (add-archive.ts). Parent directories that exist in the image keep the image's
// mode, owner and mtime in the layer, so a COPY does not retouch them.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { errnoError } from '../base/errno-error.js'
import { S_MODE, S_UID, S_GID, S_MTIME, S_MTIME_NS } from '../native/binding.js'
import { S_IFMT, S_IFDIR } from '../union/whiteout.js'
import { archiveLayerToFile } from '../image/layer-archive.js'
import { addArchive } from './add-archive.js'
import { compressionOf, decompressedHead, fileHead, isTarHeader, type Compression } from './decompress.js'
import type { CopySource, ContextEntry } from './build-context.js'
import type { ImageTree } from './image-tree.js'

export interface CopyItem {
  src: ContextEntry
  /** Absolute path in the image (for an extracted tar: the directory). */
  to: string
  extract?: 'tar' | Exclude<Compression, 'none'>
  /** sha256 of a file's content. */
  hash?: string
}

export interface CopyPlan {
  items: CopyItem[]
  /** Directories the copy must create or keep (the destination dir). */
  dirs: string[]
  uid: number
  gid: number
  /** Each item keeps its source's owner (uid and gid then only own new parents). */
  keepOwners: boolean
  chmod: number | null
  /** Digest of everything the layer depends on (cache key part). */
  digest: string
  /** docker's history form of the sources: file:<sha>, dir:<sha>, multi:<sha>. */
  describe: string
}

export interface CopyRequest {
  sources: string[]
  dest: string
  workdir: string
  add: boolean
  chown?: string
  /** Without --chown, keep the sources' owners (COPY --from, as BuildKit) instead of 0:0. */
  keepOwners?: boolean
  chmod?: string
  /** "COPY" or "ADD", for messages. */
  what: string
}

async function hashFile (file: string): Promise<string> {
  const h = crypto.createHash('sha256')
  await pipeline(fs.createReadStream(file), h)
  return h.digest('hex')
}

/** Is this an archive ADD unpacks: a tar, plain or compressed? */
async function tarKind (file: string): Promise<CopyItem['extract'] | null> {
  const head = fileHead(file)
  const kind = compressionOf(head)
  if (kind === 'none') return isTarHeader(head) ? 'tar' : null
  const inner = await decompressedHead(file, kind)
  return inner && isTarHeader(inner) ? kind : null
}

const entryOf = (text: string | null, name: string): string[] | undefined => (text ?? '').split('\n').map((l) => l.split(':')).find((f) => f[0] === name)

/** --chown=user[:group], names from the image's /etc/passwd and /etc/group. */
async function owner (tree: ImageTree, spec: string, what: string): Promise<{ uid: number, gid: number }> {
  const [u, g] = spec.split(':')
  const user = /^\d+$/.test(u) ? null : entryOf(await tree.readFile('/etc/passwd'), u)
  if (user === undefined) throw errnoError('EINVAL', `${what} --chown: no user "${u}" in the image's /etc/passwd`)
  const uid = user ? Number(user[2]) : Number(u)
  if (g === undefined) return { uid, gid: user ? Number(user[3]) : uid }
  if (/^\d+$/.test(g)) return { uid, gid: Number(g) }
  const group = entryOf(await tree.readFile('/etc/group'), g)
  if (!group) throw errnoError('EINVAL', `${what} --chown: no group "${g}" in the image's /etc/group`)
  return { uid, gid: Number(group[2]) }
}

export async function planCopy (ctx: CopySource, tree: ImageTree, req: CopyRequest): Promise<CopyPlan> {
  if (req.sources.some((s) => /^[a-z]+:\/\//i.test(s))) {
    throw errnoError('EINVAL', `${req.what}: URL sources are not supported (strata builds without network): ${req.sources.find((s) => /^[a-z]+:\/\//i.test(s))}`)
  }
  const trailing = req.dest.endsWith('/') || req.dest === '.' || req.dest.endsWith('/.')
  const abs = path.posix.resolve(req.workdir || '/', req.dest)
  const entries = req.sources.flatMap((s) => ctx.sources(s, req.what))
  if (entries.length > 1 && !trailing) throw errnoError('EINVAL', `${req.what}: with more than one source file, the destination must be a directory and end with a / (${req.dest})`)
  const dest = tree.resolve(abs)
  const destIsDir = trailing || abs === path.posix.resolve(req.workdir || '/') || (dest.attr !== null && (dest.attr[S_MODE] & S_IFMT) === S_IFDIR)
  const { uid, gid } = req.chown ? await owner(tree, req.chown, req.what) : { uid: 0, gid: 0 }
  let chmod: number | null = null
  if (req.chmod !== undefined) {
    if (!/^[0-7]{3,4}$/.test(req.chmod)) throw errnoError('EINVAL', `${req.what}: --chmod takes an octal mode, not "${req.chmod}"`)
    chmod = parseInt(req.chmod, 8)
  }
  const items: CopyItem[] = []
  const dirs: string[] = []
  for (const e of entries) {
    if (e.st.isDirectory()) {
      dirs.push(dest.path)
      const strip = e.rel === '' ? 0 : e.rel.length + 1
      for (const u of ctx.under(e)) items.push({ src: u, to: path.posix.join(dest.path, u.rel.slice(strip)) })
    } else if (req.add && e.st.isFile() && await tarKind(e.abs)) {
      dirs.push(dest.path)
      items.push({ src: e, to: dest.path, extract: (await tarKind(e.abs))! })
    } else {
      items.push({ src: e, to: destIsDir ? path.posix.join(dest.path, path.posix.basename(e.rel)) : dest.path })
    }
  }
  const h = crypto.createHash('sha256')
  const keepOwners = req.keepOwners === true && !req.chown
  h.update(JSON.stringify({ uid, gid, chmod, dirs }))
  for (const it of items) {
    const st = it.src.st
    if (st.isFile()) it.hash = await hashFile(it.src.abs)
    const body = st.isSymbolicLink() ? fs.readlinkSync(it.src.abs) : it.hash ?? ''
    h.update(JSON.stringify([it.to, it.extract ?? '', st.mode, st.size, body, ...(keepOwners ? [st.uid, st.gid] : [])]) + '\n')
  }
  const digest = h.digest('hex')
  const single = entries.length === 1 && !entries[0].st.isDirectory() && items.length === 1 && items[0].hash
  const describe = single ? `file:${items[0].hash}` : entries.length === 1 && entries[0].st.isDirectory() ? `dir:${digest}` : `multi:${digest}`
  return { items, dirs, uid, gid, keepOwners, chmod, digest, describe }
}

/** Lays out the plan under `stage` (an empty dir) and writes it as a layer tar. */
export async function writeCopyLayer (plan: CopyPlan, tree: ImageTree, stage: string, tarFile: string): Promise<void> {
  const times: Array<[string, number]> = []
  const made = new Set<string>(['/'])
  // A parent directory: the image's own metadata if it has it, else root's 0755.
  const parent = (dir: string): void => {
    if (made.has(dir)) return
    parent(path.posix.dirname(dir))
    made.add(dir)
    const p = path.join(stage, dir)
    if (fs.existsSync(p)) return
    fs.mkdirSync(p)
    const attr = tree.resolve(dir, false).attr
    if (attr && (attr[S_MODE] & S_IFMT) === S_IFDIR) {
      fs.chmodSync(p, attr[S_MODE] & 0o7777)
      fs.chownSync(p, attr[S_UID], attr[S_GID])
      times.push([p, attr[S_MTIME] + attr[S_MTIME_NS] / 1e9])
    } else {
      fs.chmodSync(p, 0o755)
      fs.chownSync(p, plan.uid, plan.gid)
    }
  }
  for (const d of plan.dirs) parent(d)
  for (const it of plan.items) {
    const p = path.join(stage, it.to)
    const st = it.src.st
    if (it.extract) {
      parent(it.to)
      await addArchive(it.src.abs, it.extract, it.to, tree, stage, { parent, times }, 'ADD')
      continue
    }
    parent(path.posix.dirname(it.to))
    const mode = plan.chmod ?? (st.mode & 0o7777)
    const [uid, gid] = plan.keepOwners ? [st.uid, st.gid] : [plan.uid, plan.gid]
    if (st.isDirectory()) {
      if (!fs.existsSync(p)) fs.mkdirSync(p)
      made.add(it.to)
      fs.chmodSync(p, mode)
      fs.chownSync(p, uid, gid)
      times.push([p, st.mtimeMs / 1000])
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(it.src.abs), p)
      fs.lchownSync(p, uid, gid)
      fs.lutimesSync(p, st.mtimeMs / 1000, st.mtimeMs / 1000)
    } else if (st.isFile()) {
      fs.copyFileSync(it.src.abs, p)
      fs.chmodSync(p, mode)
      fs.chownSync(p, uid, gid)
      fs.utimesSync(p, st.mtimeMs / 1000, st.mtimeMs / 1000)
    }
    // Sockets, FIFOs and devices in a build context are left out, as docker does.
  }
  // Deepest first, so setting a child's time does not disturb its parent's.
  for (const [p, t] of times.reverse()) fs.utimesSync(p, t, t)
  await archiveLayerToFile(stage, tarFile)
}

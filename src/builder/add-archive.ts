// ADD of a local archive, unpacked the way docker unpacks it into the
// container's root (moby pkg/archive Unpack, chrooted): an entry's parent
// directories that already exist are used as they are — a symlink among
// them (/bin -> usr/bin in a usrmerged image) is followed, inside the image
// root — while an entry itself replaces what is at its name unless both are
// directories (so an explicit `bin/` entry does replace the /bin symlink
// with a directory, as docker's does). Entries named .wh.* are refused:
// docker writes them as plain files, but in an image layer that name is a
// whiteout to every reader (the OCI changeset rules, our union, containerd),
// so the file would delete its sibling on the next pull; an error is
// better than a layer that means different things to different readers.
//
// How: the archive is checked entry by entry, extracted by layer-extract.ts
// (its path safety) into a scratch dir beside the staging dir, then each
// entry is moved to where the rules above put it, with paths resolved
// through the staging dir over the image. Directory xattrs from the archive
// are not kept (files' are, being moved).
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { S_MODE } from '../native/binding.js'
import { S_IFMT, S_IFDIR, S_IFLNK, OCI_WHITEOUT_PREFIX } from '../union/whiteout.js'
import { extractLayer, safeParts } from '../image/layer-extract.js'
import { readTar } from '../image/tar-reader.js'
import { decompress, type Compression } from './decompress.js'
import type { ImageTree } from './image-tree.js'

export interface StagedDirs {
  /** Makes directory `dir` (and its parents) in the staging dir, with the image's metadata where it has that directory. */
  parent: (dir: string) => void
  /** Directory mtimes to set once everything is in place. */
  times: Array<[string, number]>
}

/** Is there a real directory (not a symlink) at absolute `p` in the image? */
function imageDirAt (tree: ImageTree, p: string): boolean {
  const f = tree.resolve(p, false)
  return f.path === p && f.attr !== null && (f.attr[S_MODE] & S_IFMT) === S_IFDIR
}

/**
 * Absolute path `p` resolved through the staging dir over the image:
 * symlinks in either are followed (the last one when `followLast`), never
 * above the root. Where staging has a directory over an image non-directory,
 * the image no longer counts below it.
 */
export function resolveStaged (stage: string, tree: ImageTree, p: string, followLast: boolean): string {
  const todo = p.split('/').filter((x) => x && x !== '.')
  const done: string[] = []
  let imageDir = true
  let hops = 0
  while (todo.length) {
    const name = todo.shift()!
    if (name === '..') {
      done.pop()
      imageDir = done.every((_, i) => imageDirAt(tree, '/' + done.slice(0, i + 1).join('/')))
      continue
    }
    const cur = '/' + [...done, name].join('/')
    const st = fs.lstatSync(path.join(stage, cur), { throwIfNoEntry: false })
    let link: string | null = null
    let isDir = false
    let exists = false
    if (st) {
      exists = true
      if (st.isSymbolicLink()) link = fs.readlinkSync(path.join(stage, cur))
      isDir = st.isDirectory()
    } else if (imageDir) {
      const f = tree.resolve(cur, false)
      if (f.attr && f.id !== null) {
        exists = true
        const type = f.attr[S_MODE] & S_IFMT
        if (type === S_IFLNK) link = tree.readlink(f.id)
        isDir = type === S_IFDIR
      }
    }
    if (link !== null && (todo.length > 0 || followLast)) {
      if (++hops > 40) throw errnoError('ELOOP', `too many symlinks resolving ${p} in the image`)
      if (link.startsWith('/')) done.length = 0
      todo.unshift(...link.split('/').filter((x) => x && x !== '.'))
      continue
    }
    if (todo.length > 0 && exists && !isDir) throw errnoError('ENOTDIR', `${p}: ${cur} is not a directory in the image`)
    done.push(name)
    imageDir = imageDir && imageDirAt(tree, cur)
  }
  return '/' + done.join('/')
}

/** Unpacks `archive` at directory `to` (absolute, resolved) of the image, into `stage`. */
export async function addArchive (archive: string, kind: Compression | 'tar', to: string, tree: ImageTree, stage: string, dirs: StagedDirs, what: string): Promise<void> {
  const comp: Compression = kind === 'tar' ? 'none' : kind
  const label = `${what} ${path.basename(archive)}`
  const explicit = new Set<string>()
  for await (const e of readTar(decompress(fs.createReadStream(archive), comp, label))) {
    const parts = safeParts(e.header.name)
    if (!parts.length) continue
    if (parts[parts.length - 1].startsWith(OCI_WHITEOUT_PREFIX)) {
      throw errnoError('EINVAL', `${label}: entry ${e.header.name}: a name starting with ${OCI_WHITEOUT_PREFIX} is a whiteout in an image layer and cannot be added as a file`)
    }
    if (e.header.type === 'dir') explicit.add(parts.join('/'))
  }
  const raw = fs.mkdtempSync(`${stage}-raw-`)
  try {
    await extractLayer(decompress(fs.createReadStream(archive), comp, label), raw)
    const place = (rel: string): void => {
      for (const name of fs.readdirSync(path.join(raw, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name
        const from = path.join(raw, r)
        const st = fs.lstatSync(from)
        const image = path.posix.join(to, r)
        if (st.isDirectory()) {
          const mine = explicit.has(r)
          const target = resolveStaged(stage, tree, image, !mine)
          const dest = path.join(stage, target)
          const there = fs.lstatSync(dest, { throwIfNoEntry: false })
          if (there && !there.isDirectory()) fs.unlinkSync(dest)
          if (mine) {
            // The entry's own metadata, also over a directory the image has (docker merges them).
            dirs.parent(path.posix.dirname(target))
            if (!there?.isDirectory()) fs.mkdirSync(dest)
            fs.chmodSync(dest, st.mode & 0o7777)
            fs.chownSync(dest, st.uid, st.gid)
            dirs.times.push([dest, st.mtimeMs / 1000])
          } else {
            dirs.parent(target)
          }
          place(r)
        } else {
          const target = resolveStaged(stage, tree, image, false)
          dirs.parent(path.posix.dirname(target))
          const dest = path.join(stage, target)
          const there = fs.lstatSync(dest, { throwIfNoEntry: false })
          if (there?.isDirectory()) fs.rmSync(dest, { recursive: true })
          else if (there) fs.unlinkSync(dest)
          fs.renameSync(from, dest)
        }
      }
    }
    place('')
  } finally {
    fs.rmSync(raw, { recursive: true, force: true })
  }
}

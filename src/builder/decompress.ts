// What an archive ADD unpacks (or `strata build -` reads) is compressed
// with, told by its magic bytes as docker tells it, and a stream of its
// decompressed bytes. gzip is Node's own zlib; xz and bzip2 are the Debian
// tools (xz-utils, bzip2) run as filters — what moby itself does for xz —
// because Node has neither and the npm decoders are either native builds or
// slow pure-JS ones, and a build already needs these tools' package set.
import fs from 'node:fs'
import zlib from 'node:zlib'
import { spawn } from 'node:child_process'
import { PassThrough, type Readable } from 'node:stream'
import { errnoError } from '../base/errno-error.js'

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz'

export function compressionOf (head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2'
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
  return 'none'
}

/** The decompressed bytes of `input`; a tool's failure is the stream's error, naming `what`. */
export function decompress (input: Readable, kind: Compression, what: string): Readable {
  if (kind === 'none') return input.pipe(new PassThrough())
  if (kind === 'gzip') {
    const gz = zlib.createGunzip()
    input.on('error', (e) => gz.destroy(e))
    return input.pipe(gz)
  }
  const tool = kind === 'xz' ? 'xz' : 'bzip2'
  const child = spawn(tool, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const out = new PassThrough()
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.on('error', (e) => out.destroy(errnoError('ENOENT', `${what}: cannot run ${tool} to decompress it (install ${kind === 'xz' ? 'xz-utils' : 'bzip2'}): ${e.message}`)))
  input.on('error', (e) => { child.kill(); out.destroy(e) })
  // A reader that stops early (a tar's end) must not make xz fail the stream.
  child.stdin.on('error', () => {})
  input.pipe(child.stdin)
  child.stdout.pipe(out, { end: false })
  child.on('close', (code, signal) => {
    if (out.destroyed) return
    if (code === 0) out.end()
    else out.destroy(errnoError('EBADMSG', `${what}: ${tool} could not decompress it (${signal ?? `exit ${code}`}): ${stderr.trim()}`))
  })
  out.on('close', () => { if (child.exitCode === null) child.kill() })
  return out
}

/** The first bytes of a file (for compressionOf and tar detection). */
export function fileHead (file: string, n = 512): Buffer {
  const fd = fs.openSync(file, 'r')
  try {
    const b = Buffer.alloc(n)
    return b.subarray(0, fs.readSync(fd, b, 0, n, 0))
  } finally { fs.closeSync(fd) }
}

/** A tar header block: "ustar" at 257 (POSIX and GNU tars). */
export const isTarHeader = (b: Buffer): boolean => b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar'

/** The first `n` decompressed bytes of a file, or null when it cannot be decompressed. */
export async function decompressedHead (file: string, kind: Compression, n = 512): Promise<Buffer | null> {
  const s = decompress(fs.createReadStream(file), kind, file)
  let got = Buffer.alloc(0)
  try {
    for await (const c of s) {
      got = Buffer.concat([got, c as Buffer])
      if (got.length >= n) break
    }
  } catch { return null } finally { s.destroy() }
  return got
}

// FUSE passthrough (native/passthrough.cc) on real mounts: data written to a
// passthrough file lands where every later reader finds it (a remount,
// kernel overlayfs on the same upper), a file copied up under a read-only fd
// still shows that fd the new data, mmap works both ways, and a rootless
// mount falls back. The kernel's fuse_request_send tracepoint tells
// passthrough from the fallback: a passed-through read costs no READ
// request. Writes still reach the daemon (the pause gate must hold them).
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mountKernel, mountStrata, mountsUnder, strataBin, type OverlayDirs } from '../fixtures/mount-overlay.js'
import { RequestCounter, requestCountingUnavailable } from '../../src/bench/request-counter.js'

const [major, minor] = os.release().split('.').map(Number)
const kernelHasPassthrough = major > 6 || (major === 6 && minor >= 9)
const noCounting = requestCountingUnavailable()
const skipWhy = !kernelHasPassthrough ? `kernel ${os.release()} has no FUSE passthrough (6.9+)` : noCounting

/** A FUSE mount's connection number (the minor of its st_dev). */
const connectionOf = (m: string): number => {
  const dev = fs.statSync(m).dev
  return (dev & 0xff) | ((dev >> 12) & 0xfff00)
}

/** The FUSE requests `fn` costs on the mount at `m`, by opcode. */
async function requests (m: string, fn: () => void | Promise<void>): Promise<Record<string, number>> {
  const c = await RequestCounter.start(connectionOf(m))
  try {
    await fn()
  } catch (err) {
    await c.stop()
    throw err
  }
  return await c.stop()
}
const data = (r: Record<string, number>): number => (r.READ ?? 0) + (r.WRITE ?? 0)

function dirs (t: Test, lower: Record<string, string | Buffer> = {}): OverlayDirs & { root: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pt-'))
  const d = { root, lowerdir: `${root}/l`, upperdir: `${root}/u`, workdir: `${root}/w`, mountpoint: `${root}/m` }
  for (const p of [d.lowerdir, d.upperdir, d.workdir, d.mountpoint]) fs.mkdirSync(p)
  for (const [name, content] of Object.entries(lower)) fs.writeFileSync(`${d.lowerdir}/${name}`, content)
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) spawnSync('umount', ['-l', mp])
    fs.rmSync(root, { recursive: true, force: true })
  })
  return d
}

t.test('data written to a passthrough file is what a remount and kernel overlayfs read', { skip: skipWhy }, async (t) => {
  const d = dirs(t, { kept: 'lower\n' })
  const big = randomBytes(4 << 20)
  const m = d.mountpoint
  let mnt = await mountStrata(t, d)
  fs.writeFileSync(`${m}/upper-file`, 'first\n')
  const before = fs.statSync(`${m}/upper-file`)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const during = await requests(m, () => {
    fs.writeFileSync(`${m}/big`, big)
    fs.appendFileSync(`${m}/upper-file`, 'second\n')
    t.ok(fs.readFileSync(`${m}/big`).equals(big), 'read back on the same mount')
  })
  t.equal(during.READ ?? 0, 0, `no READ request for upper files (${JSON.stringify(during)})`)
  t.ok(during.WRITE > 0, 'writes reach the daemon, where a pause holds them')
  t.ok(during.CREATE >= 1 && during.OPEN >= 1, 'and so do the opens')
  const after = fs.statSync(`${m}/upper-file`)
  t.equal(after.size, 'first\nsecond\n'.length, 'stat sees the size a passthrough write made')
  t.ok(after.mtimeMs > before.mtimeMs, 'and its mtime')
  t.equal(fs.statSync(`${m}/big`).size, big.length)
  await mnt.unmount()

  t.ok(fs.readFileSync(`${d.upperdir}/big`).equals(big), 'the upper file holds the data')
  mnt = await mountStrata(t, d)
  t.ok(fs.readFileSync(`${m}/big`).equals(big), 'a remount reads it')
  t.equal(fs.readFileSync(`${m}/upper-file`, 'utf8'), 'first\nsecond\n')
  await mnt.unmount()
  mnt = await mountKernel(t, d)
  t.ok(fs.readFileSync(`${m}/big`).equals(big), 'kernel overlayfs on the same upper reads it')
  t.equal(fs.readFileSync(`${m}/upper-file`, 'utf8'), 'first\nsecond\n')
  await mnt.unmount()
})

t.test('a file copied up while open read-only: the old fd sees the new data', { skip: skipWhy }, async (t) => {
  const d = dirs(t, { f: 'old lower content\n' })
  const m = d.mountpoint
  await mountStrata(t, d)
  const ro = fs.openSync(`${m}/f`, 'r')
  t.teardown(() => { try { fs.closeSync(ro) } catch {} })
  const buf = Buffer.alloc(64)
  t.equal(buf.toString('utf8', 0, fs.readSync(ro, buf, 0, 64, 0)), 'old lower content\n', 'the lower content first')
  // The write open copies up while the read-only open holds the inode in
  // cached mode: the writer must take the cached path too (the kernel would
  // fail a passthrough open with EIO), and the reader must follow the copy.
  const whileOpen = await requests(m, () => { fs.writeFileSync(`${m}/f`, 'new upper content, longer\n') })
  t.ok((whileOpen.WRITE ?? 0) > 0, 'a write beside a cached open goes through the daemon')
  t.equal(buf.toString('utf8', 0, fs.readSync(ro, buf, 0, 64, 0)), 'new upper content, longer\n', 'the old read-only fd reads the copy')
  fs.closeSync(ro)
  t.equal(fs.readFileSync(`${d.upperdir}/f`, 'utf8'), 'new upper content, longer\n', 'copied up')
  // Once the cached opens are gone the file is an upper one like any other.
  const later = await requests(m, () => {
    t.equal(fs.readFileSync(`${m}/f`, 'utf8'), 'new upper content, longer\n')
    fs.appendFileSync(`${m}/f`, 'more\n')
  })
  t.equal(later.READ ?? 0, 0, `later opens pass through (${JSON.stringify(later)})`)
  t.equal(fs.readFileSync(`${m}/f`, 'utf8'), 'new upper content, longer\nmore\n')
})

const MMAP = `
import mmap, sys
with open(sys.argv[1], 'r+b') as f:
    m = mmap.mmap(f.fileno(), 0)
    sys.stdout.write(m[0:5].decode())
    m[0:5] = b'MMAP!'
    m.flush()
    m.close()
`

t.test('mmap reads and writes a passthrough file', { skip: skipWhy }, async (t) => {
  const d = dirs(t)
  const m = d.mountpoint
  let mnt = await mountStrata(t, d)
  fs.writeFileSync(`${m}/mapped`, 'hello, mapped world\n'.repeat(500))
  let out = ''
  const during = await requests(m, () => {
    const r = spawnSync('python3', ['-c', MMAP, `${m}/mapped`], { encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    out = r.stdout
  })
  t.equal(out, 'hello', 'mmap reads what write(2) put there')
  t.equal(data(during), 0, `mmap goes to the backing file (${JSON.stringify(during)})`)
  t.equal(fs.readFileSync(`${m}/mapped`, 'utf8').slice(0, 12), 'MMAP!, mappe', 'read(2) sees what mmap wrote')
  await mnt.unmount()
  t.equal(fs.readFileSync(`${d.upperdir}/mapped`, 'utf8').slice(0, 12), 'MMAP!, mappe', 'on the upper')
  mnt = await mountStrata(t, d)
  t.equal(fs.readFileSync(`${m}/mapped`, 'utf8').length, 'hello, mapped world\n'.length * 500, 'the size is kept')
  await mnt.unmount()
})

t.test('a mount without an upper passes lower files through', { skip: skipWhy }, async (t) => {
  const content = randomBytes(1 << 20)
  const d = dirs(t, { ro: content })
  const m = d.mountpoint
  const r = spawnSync(strataBin, ['mount', '--lowerdir', d.lowerdir, m], { encoding: 'utf8', timeout: 30000 })
  t.equal(r.status, 0, `read-only mount ${r.stderr}`)
  t.teardown(() => { spawnSync(strataBin, ['umount', m]) })
  const during = await requests(m, () => { t.ok(fs.readFileSync(`${m}/ro`).equals(content), 'reads the lower file') })
  t.equal(during.READ ?? 0, 0, `no READ request (${JSON.stringify(during)})`)
  t.equal(spawnSync(strataBin, ['umount', m]).status, 0, 'unmounted')
})

t.test('a rootless mount falls back to the daemon silently', async (t) => {
  // Root of a user namespace has no CAP_SYS_ADMIN in the initial one: the
  // kernel refuses the backing ioctl, so every open takes the cached path.
  const d = dirs(t, { f: 'lower\n' })
  fs.chmodSync(d.root, 0o755)
  fs.writeFileSync(`${d.upperdir}/up`, 'upper\n'.repeat(1000))
  const log = `${d.root}/daemon.log`
  const m = d.mountpoint
  const script = [
    `${strataBin} mount --debug --lowerdir ${d.lowerdir} --upperdir ${d.upperdir} --workdir ${d.workdir} ${m} 2>${log} &`,
    `for i in $(seq 100); do grep -q " ${m} " /proc/self/mounts && break; sleep 0.1; done`,
    `head -c 300000 /dev/zero > ${m}/big && echo more >> ${m}/f && wc -c < ${m}/big && cat ${m}/f && wc -l < ${m}/up`,
    's=$?', `umount ${m}`, 'wait', 'exit $s',
  ].join('\n')
  const r = spawnSync('unshare', ['-Urm', 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 })
  t.equal(r.status, 0, `mount, write, read in a user namespace (${r.stderr.trim()})`)
  t.equal(r.stdout, '300000\nlower\nmore\n1000\n', 'the data is right')
  t.equal(fs.readFileSync(`${d.upperdir}/f`, 'utf8'), 'lower\nmore\n', 'copied up')
  t.equal(fs.statSync(`${d.upperdir}/big`).size, 300000)
  const l = fs.readFileSync(log, 'utf8')
  if (kernelHasPassthrough) t.match(l, /passthrough of fd \d+: Operation not permitted/, 'the backing ioctl was refused')
  t.ok((l.match(/opcode: READ /g) ?? []).length > 0, 'and the read of an upper file went through the daemon')
  t.notMatch(l, /error: -5 /, 'no request failed with EIO')
})

t.test('kernel overlayfs still stacks on a strata mount (max_stack_depth 1)', { skip: skipWhy }, async (t) => {
  // Passthrough gives the FUSE superblock the stack depth it announces;
  // overlayfs adds one and refuses more than two, so 1 must leave room.
  const d = dirs(t, { f: 'lower\n' })
  await mountStrata(t, d)
  fs.writeFileSync(`${d.mountpoint}/g`, 'through strata\n')
  const top = { lowerdir: d.mountpoint, upperdir: `${d.root}/u2`, workdir: `${d.root}/w2`, mountpoint: `${d.root}/m2` }
  for (const p of [top.upperdir, top.workdir, top.mountpoint]) fs.mkdirSync(p)
  const k = await mountKernel(t, top)
  t.equal(fs.readFileSync(`${top.mountpoint}/g`, 'utf8'), 'through strata\n', 'overlayfs reads a passed-through upper file of strata')
  fs.appendFileSync(`${top.mountpoint}/f`, 'more\n')
  t.equal(fs.readFileSync(`${top.upperdir}/f`, 'utf8'), 'lower\nmore\n', 'and copies up from it')
  await k.unmount()
})

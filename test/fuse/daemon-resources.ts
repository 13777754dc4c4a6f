// The daemon under stress: a big copy-up does not stall other requests, a
// daemon killed mid copy-up leaves nothing partial visible, and forgotten
// inodes give their file descriptors back.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { strataUnion } from '../fixtures/strata-union.js'
import { mountedType } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')
const daemonPid = (mnt: string): number =>
  (JSON.parse(fs.readFileSync(`/run/strata/mounts/${encodeURIComponent(mnt)}.json`, 'utf8')) as { pid: number }).pid
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('a big copy-up does not stall others; killed mid-way it leaves nothing partial', async (t) => {
  const tree: Record<string, unknown> = { small: {} }
  for (let i = 0; i < 50; i++) (tree.small as Record<string, string>)[`f${i}`] = String(i)
  const u = await strataUnion(t, [tree as never], ([l]) => {
    execFileSync('dd', ['if=/dev/urandom', `of=${l}/big`, 'bs=1M', 'count=768', 'status=none'])
  })
  const sum = execFileSync('sha1sum', [`${u.lowers[0]}/big`], { encoding: 'utf8' }).split(' ')[0]
  const writer = spawn('sh', ['-c', `exec 3>>${u.mnt}/big; echo tail >&3`], { stdio: 'ignore' })
  let writerDone = false
  writer.on('exit', () => { writerDone = true })
  t.teardown(() => { writer.kill('SIGKILL') })
  // The copy is an unnamed (O_TMPFILE) file in the work dir, held open by
  // the daemon, or a named temp where the filesystem has no O_TMPFILE.
  const pid = daemonPid(u.mnt)
  const building = (): boolean =>
    fs.readdirSync(`${u.work}/work`).some((n) => n.startsWith('#strata-')) ||
    fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${u.work}/work/`) } catch { return false }
    })
  let inWork = false
  // eslint-disable-next-line no-unmodified-loop-condition -- inWork and writerDone are set by event handlers
  for (let i = 0; i < 2000 && !inWork && !writerDone; i++) {
    inWork = building()
    if (!inWork) await sleep(2)
  }
  t.ok(inWork, 'the copy-up is being built in the work dir')
  const other = spawnSync('sh', ['-c', `ls ${u.mnt}/small | wc -l; cat ${u.mnt}/small/f7`], { encoding: 'utf8', timeout: 30000 })
  t.equal(other.stdout, '50\n7', 'other requests are answered meanwhile')
  t.notOk(writerDone, '…before the big copy-up has finished')
  process.kill(pid, 'SIGKILL')
  await new Promise((r) => { writerDone ? r(null) : writer.on('exit', r) })
  t.notOk(fs.existsSync(`${u.upper}/big`), 'no partial copy is visible in the upper dir')
  await u.mounted.unmount() // strata umount, which must recover the dead mount
  t.equal(mountedType(u.mnt), undefined, 'umount recovers the dead mount')
  execFileSync(strata, ['mount', '--lowerdir', u.lowerdir, '--upperdir', u.upper, '--workdir', u.work, u.mnt])
  t.teardown(() => { if (mountedType(u.mnt)) spawnSync(strata, ['umount', u.mnt]) })
  // The daemon reports ready at the mount and opens the upper just after;
  // once a request has been answered the union (and its cleanup) is there.
  execFileSync('stat', [u.mnt])
  t.same(fs.readdirSync(`${u.work}/work`), [], 'a new daemon clears the leftovers')
  t.equal(execFileSync('sha1sum', [`${u.mnt}/big`], { encoding: 'utf8' }).split(' ')[0], sum, 'the file reads as the lower copy')
  fs.appendFileSync(`${u.mnt}/big`, 'tail\n')
  t.equal(fs.statSync(`${u.upper}/big`).size, (768 << 20) + 5, 'and a copy-up then completes')
  execFileSync(strata, ['umount', u.mnt])
})

t.test('forgotten inodes close their directory fds', async (t) => {
  const tree: Record<string, unknown> = {}
  for (let i = 0; i < 200; i++) tree[`d${i}`] = { a: { b: 'x' } }
  const u = await strataUnion(t, [tree as never, tree as never])
  const pid = daemonPid(u.mnt)
  const fds = (): number => fs.readdirSync(`/proc/${pid}/fd`).length
  const before = fds()
  execFileSync('sh', ['-c', `find ${u.mnt} -type f | xargs cat > /dev/null`])
  const during = fds()
  t.ok(during > before + 400, `directories hold fds while the kernel knows them (${before} → ${during})`)
  fs.writeFileSync('/proc/sys/vm/drop_caches', '2')
  let after = fds()
  for (let i = 0; i < 100 && after > before + 10; i++) {
    await sleep(50)
    after = fds()
  }
  t.ok(after <= before + 10, `and give them back when it forgets them (${after} after, ${before} before)`)
})

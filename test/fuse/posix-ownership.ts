// POSIX behaviour through a real strata mount, each checked against kernel
// overlayfs doing the same thing on the same lowers: owners and modes of
// entries made by non-root callers (fsuid/fsgid, setgid directories, the
// caller's umask) for every creating call; st_nlink 0 from fstat of an open,
// unlinked file; a read-only fd opened before a copy-up reading the new
// content; directory renames (redirect_dir) and their upper mounted by the
// other implementation.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { strataUnion, type Tree, type Union } from '../fixtures/strata-union.js'
import { mountOverlay, type Impl } from '../fixtures/mount-overlay.js'

const sh = (cmd: string, as?: { uid: number, gid: number }): string => {
  const args = as ? ['setpriv', '--reuid', String(as.uid), '--regid', String(as.gid), '--clear-groups', 'sh', '-c', cmd] : ['sh', '-c', cmd]
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** owner, group, mode and type of every entry, sorted: what ownership rules decide */
const owners = (root: string): string => sh(`cd ${root} && find . -printf '%p %U:%G %m %y\\n' | sort`)

const GROUP = 100 // "users": the setgid directories' group, not the actor's

// eslint-disable-next-line @typescript-eslint/no-deprecated -- 'sub' is a file in a fixture tree, not String.prototype.sub
const tree: Tree = { pub: { keep: 'k' }, sg: { old: 'o' }, etc: { file: 'OLD\n', other: 'x' }, d: { sub: { f: 'f' } } }
const prepare = (lowers: string[]): void => {
  const l = lowers[0]
  fs.chmodSync(path.join(l, 'pub'), 0o777)
  fs.chownSync(path.join(l, 'sg'), 0, GROUP)
  fs.chmodSync(path.join(l, 'sg'), 0o2777)
}

/** The same tree under both implementations; `who` → its union. */
async function both (t: Test): Promise<Record<'kernel' | 'strata', Union>> {
  const impls: Array<'kernel' | 'strata'> = ['kernel', 'strata']
  const out: Partial<Record<Impl, Union>> = {}
  for (const impl of impls) out[impl] = await strataUnion(t, [tree], prepare, impl)
  return out as Record<'kernel' | 'strata', Union>
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root: kernel overlay mounts and setpriv to other users')
} else {
  t.test('creating calls by a non-root caller: owners, setgid dirs, umask, as kernel overlayfs', async (t) => {
    const u = await both(t)
    const actor = { uid: 65533, gid: 65532 }
    // Every creating call (create, mkdir, mknod via mkfifo, symlink, link),
    // in a plain dir and in a setgid one (a subdir inherits the bit, and a
    // file asking for setgid from a non-member loses it), under umask 027.
    const script = [
      'umask 027',
      ': > pub/f', 'mkdir pub/d', 'mkfifo pub/p', 'ln -s target pub/s', 'ln pub/f pub/h',
      'mkdir -m 0777 pub/wide', ': > sg/f', 'mkdir sg/d', 'mkdir sg/d/e', 'mkfifo sg/p', 'ln -s t sg/s',
      'python3 -c "import os; os.close(os.open(\'sg/gx\', os.O_CREAT | os.O_WRONLY, 0o2755))"',
    ].join(' && ')
    for (const impl of ['kernel', 'strata'] as const) sh(`cd ${u[impl].mnt} && ${script}`, actor)
    const got = owners(u.strata.mnt)
    t.equal(got, owners(u.kernel.mnt), 'the merged trees agree')
    t.match(got, /\.\/pub\/d 65533:65532 750 d/, 'a directory gets the caller\'s fsuid and fsgid (no more uid-0 mkdir)')
    t.match(got, /\.\/sg\/d\/e 65533:100 2750 d/, 'setgid group and bit go down to subdirectories')
    t.equal(owners(u.strata.upper), owners(u.kernel.upper), 'and so do the upper dirs')
    // Root's own calls keep root's ids, even in a setgid dir.
    for (const impl of ['kernel', 'strata'] as const) sh(`cd ${u[impl].mnt} && umask 022 && mkdir sg/r && : > sg/rf`)
    t.equal(owners(u.strata.mnt), owners(u.kernel.mnt), 'root in a setgid dir too')
  })

  t.test('fstat of an open, unlinked file', async (t) => {
    const u = await both(t)
    const nlinks = (m: string): number[] => {
      fs.writeFileSync(`${m}/pub/up`, 'u')
      const res: number[] = []
      for (const p of ['pub/up', 'pub/keep']) {
        const fd = fs.openSync(`${m}/${p}`, 'r')
        try {
          fs.unlinkSync(`${m}/${p}`)
          res.push(fs.fstatSync(fd).nlink)
        } finally { fs.closeSync(fd) }
      }
      return res
    }
    const got = nlinks(u.strata.mnt)
    t.same(got, nlinks(u.kernel.mnt), 'as the kernel: upper files 0, lower files their lower count')
    t.equal(got[0], 0, 'st_nlink 0 for an unlinked upper file, not ENOENT')
  })

  t.test('a read-only fd opened before a copy-up reads the copied-up content', async (t) => {
    const u = await both(t)
    const cmd = 'exec 3<etc/file; echo NEW > etc/file; cat <&3; exec 4<etc/other; echo more >> etc/other; cat <&4'
    const got = sh(`cd ${u.strata.mnt} && ${cmd}`)
    t.equal(got, sh(`cd ${u.kernel.mnt} && ${cmd}`), 'as kernel overlayfs')
    t.equal(got, 'NEW\nx' + 'more\n', 'both the truncating and the appending copy-up show through the old fd')
  })

  t.test('directory renames by redirect, and each upper mounted by the other implementation', async (t) => {
    const u = await both(t)
    const moves = 'mv d d2 && mkdir -p new/deep && mv d2/sub new/deep/sub2 && mv new n2 && mv pub pub2 && ' +
      'echo w > n2/deep/sub2/g && mv sg pub2/sg && rm n2/deep/sub2/f'
    for (const impl of ['kernel', 'strata'] as const) {
      // rename(2) itself, not mv's copying fallback: mv would hide an EXDEV
      sh(`cd ${u[impl].mnt} && python3 -c "import os; os.rename('d', 'd0'); os.rename('d0', 'd')" && ${moves}`)
    }
    const list = (root: string): string => sh(`cd ${root} && find . -printf '%p %y %m %s %U:%G\\n' | sort && find . -type f -exec sha1sum {} + | sort`)
    const ours = list(u.strata.mnt)
    t.equal(ours, list(u.kernel.mnt), 'the merged trees agree')
    const xattrs = (upper: string): string => sh(`cd ${upper} && getfattr -R -h -d -m trusted.overlay.redirect . 2>/dev/null || true`)
    t.equal(xattrs(u.strata.upper), xattrs(u.kernel.upper), 'the same redirects (relative within a dir, absolute across)')
    t.match(xattrs(u.strata.upper), /redirect="\/d\/sub"/)
    const kernelView = list(u.kernel.mnt)
    // Swap: the kernel mounts strata's upper, strata mounts the kernel's.
    await u.strata.mounted.unmount()
    await u.kernel.mounted.unmount()
    const k = path.join(u.strata.root, 'kmnt')
    fs.mkdirSync(k)
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${u.strata.lowerdir},upperdir=${u.strata.upper},workdir=${u.strata.work},redirect_dir=on`, k])
    t.teardown(() => { spawnSync('umount', [k]) })
    t.equal(list(k), ours, 'kernel overlayfs (redirect_dir=on) shows the tree strata wrote')
    execFileSync('umount', [k])
    const again = await strataUnion(t, [tree], prepare)
    await again.mounted.unmount()
    // strata over the kernel's upper: copy its upper and work into a fresh union's place.
    sh(`rm -rf ${again.upper} ${again.work} && cp -a ${u.kernel.upper} ${again.upper} && mkdir ${again.work}`)
    const m2 = await mountOverlay(t, 'strata', { lowerdir: again.lowerdir, upperdir: again.upper, workdir: again.work, mountpoint: again.mnt })
    t.equal(list(again.mnt), kernelView, 'strata shows the tree kernel overlayfs wrote')
    await m2.unmount()
  })

  t.test('a directory renamed onto a whiteout, exchanged, and moved back', async (t) => {
    const u = await both(t)
    const script = 'import os\n' +
      "os.rename('d', 'e')\n" + // leaves a whiteout at d
      "os.mkdir('x')\n" +
      "os.rename('e', 'd')\n" + // back onto its own whiteout
      "os.rename('etc', 'x/etc')\n" +
      "os.rename('x/etc', 'etc2')\n"
    for (const impl of ['kernel', 'strata'] as const) sh(`cd ${u[impl].mnt} && python3 -c "${script}"`)
    const list = (root: string): string => sh(`cd ${root} && find . -printf '%p %y %m %s\\n' | sort`)
    t.equal(list(u.strata.mnt), list(u.kernel.mnt))
    const xattrs = (upper: string): string => sh(`cd ${upper} && getfattr -R -h -d -m 'trusted.overlay.(redirect|opaque)' . 2>/dev/null || true`)
    t.equal(xattrs(u.strata.upper), xattrs(u.kernel.upper), 'the same redirects and opaque marks')
  })
}

// Containers whose lower directories were renamed (redirect_dir): strata's
// own container mounts write redirects, and commit, diff and build turn them
// into plain OCI layers — the renamed directory as an opaque directory with
// its whole merged content. The committed image, mounted by strata and
// unpacked by the real umoci, shows exactly the tree the container showed.
// A commit with no redirect is byte for byte what it was; raw mounts keep
// the kernel's default (no redirects) unless asked.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { Writable } from 'node:stream'
import { execFileSync, spawnSync } from 'node:child_process'
import { mountedType } from '../fixtures/mount-overlay.js'
import { archiveLayer } from '../../src/image/layer-archive.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')
type T = Test

/** Type, mode, owner, size, link target and count, user xattrs and content hash of everything below `root`, in name order (not readdir order). */
const tree = (root: string): string => execFileSync('sh', ['-c',
  'cd "$1" && find . -mindepth 1 -printf "%p %y %m %U:%G %s %l\\n" | sort && find . -mindepth 1 ! -type d -printf "%p %n\\n" | sort && find . -type f -exec sha1sum {} + | sort && find . -mindepth 1 | sort | while read -r f; do getfattr -h -d -m "^user\\." "$f" 2>/dev/null; done | grep -v "^$"; true',
  'sh', root], { encoding: 'utf8' })

async function archive (dir: string, lowers?: string[]): Promise<Buffer> {
  const chunks: Buffer[] = []
  const out = new Writable({ write (c, _e, cb) { chunks.push(c); cb() } })
  await archiveLayer(dir, out, lowers ? { lowers: () => lowers } : {})
  return Buffer.concat(chunks)
}

/** A store with base:2, two layers: /opt/app/{a,b/{d,hard},link} and /usr/x/{f,sub/{g,h}} (b/c whited out in the second). */
function setup (t: T) {
  const dir = t.testdir({
    rootfs: {
      bin: {},
      srv: {},
      tmp: {},
      opt: { app: { a: 'alpha\n', b: { c: 'gamma\n' } } },
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- a directory named sub, not String.prototype.sub
      usr: { x: { f: 'eff\n', sub: { g: 'gee\n' } } },
    },
    mnt: {},
    mnt2: {},
    lower: {},
  })
  const r = `${dir}/rootfs`
  fs.copyFileSync('/bin/busybox', `${r}/bin/busybox`)
  fs.chmodSync(`${r}/bin/busybox`, 0o755)
  for (const x of ['sh', 'cat', 'rm', 'mkdir', 'echo', 'mv', 'chmod', 'ls']) fs.symlinkSync('busybox', `${r}/bin/${x}`)
  fs.linkSync(`${r}/opt/app/a`, `${r}/opt/app/b/hard`)
  fs.symlinkSync('a', `${r}/opt/app/link`)
  execFileSync('sh', ['-c', 'chown 1000:1001 opt/app/a && chmod 640 opt/app/a && chmod 750 opt/app/b && setfattr -n user.note -v kept opt/app/a && chmod 1777 usr/x/sub'], { cwd: r })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  const run = (...args: string[]): string => execFileSync(strata, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    for (const m of fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir))) {
      if (spawnSync(strata, ['umount', m], { env }).status !== 0) spawnSync('umount', ['-l', m])
    }
  })
  run('image', 'import', r, 'base:1')
  run('container', 'create', '--name', 'l2', 'base:1')
  run('mount', 'l2', `${dir}/mnt`)
  execFileSync('chroot', [`${dir}/mnt`, '/bin/sh', '-c', 'echo dee > /opt/app/b/d; rm /opt/app/b/c; echo aitch > /usr/x/sub/h'])
  run('umount', `${dir}/mnt`)
  run('commit', 'l2', 'base:2')
  const upper = (name: string): string => `${dir}/store/containers/${JSON.parse(run('container', 'inspect', name))[0].Id}/upper`
  const chroot = (script: string): void => { execFileSync('chroot', [`${dir}/mnt`, '/bin/sh', '-ec', script], { stdio: 'pipe' }) }
  /** Commits `name` as `image`; its tree through a strata mount and through umoci unpack. */
  const committed = (name: string, image: string): { mounted: string, unpacked: string } => {
    run('commit', name, image)
    run('mount', image, `${dir}/mnt2`)
    const mounted = tree(`${dir}/mnt2`)
    run('umount', `${dir}/mnt2`)
    const bundle = `${dir}/bundle-${image.replace(/:/g, '-')}`
    execFileSync('umoci', ['unpack', '--image', `${dir}/store/oci:${image}`, bundle], { stdio: 'pipe' })
    return { mounted, unpacked: tree(`${bundle}/rootfs`) }
  }
  /**
   * The oracle: the tree kernel overlayfs shows for `up` over the image's
   * layers, with its redirects followed (`up` as the top lower layer, so
   * that nothing writes to it).
   */
  const kernelTree = (up: string, image: string): string => {
    const layerDirs = (JSON.parse(run('image', 'inspect', image))[0].RootFS.diff_ids as string[]).reverse().map((d) => `${dir}/store/layers/${d.slice(7)}`)
    const k = `${dir}/kmnt`
    fs.mkdirSync(k, { recursive: true })
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[up, ...layerDirs].join(':')},redirect_dir=follow`, k])
    try {
      return tree(k)
    } finally {
      execFileSync('umount', [k])
    }
  }
  return { dir, env, run, upper, chroot, committed, kernelTree }
}

t.test('renamed lower dirs: commit, diff, umoci', async (t) => {
  const { dir, run, upper, chroot, committed, kernelTree } = setup(t)
  run('container', 'create', '--name', 'web', 'base:2')
  run('mount', 'web', `${dir}/mnt`)
  // rename(2) itself, not mv's copying fallback: the upper must hold redirects.
  fs.renameSync(`${dir}/mnt/opt/app`, `${dir}/mnt/srv/app2`)
  chroot('mv /usr/x /usr/y')
  const live = tree(`${dir}/mnt`)
  const whileMounted = committed('web', 'moved:0')
  t.equal(whileMounted.mounted, live, 'committed while the container is mounted (its writes held): the same tree')
  run('umount', `${dir}/mnt`)
  const up = upper('web')
  await t.rejects(archive(up), { code: 'EXDEV' }, 'a redirect without the image\'s layers is refused, never written half')
  t.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.redirect', `${up}/srv/app2`], { encoding: 'latin1' }), '/opt/app', 'a move to another parent: an absolute redirect')
  t.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.redirect', `${up}/usr/y`], { encoding: 'latin1' }), 'x', 'within one parent: the old name')
  t.notOk(fs.existsSync(`${up}/srv/app2/a`), 'the renamed dir\'s lower content stayed in the lowers')
  t.match(live, /\.\/srv\/app2\/b\/d f 644 0:0 4/, 'the container shows the second layer\'s content at the new name')

  t.equal(run('diff', 'web'), [
    'C /opt', 'D /opt/app', 'C /srv', 'A /srv/app2', 'A /srv/app2/a', 'A /srv/app2/b', 'A /srv/app2/b/d', 'A /srv/app2/b/hard', 'A /srv/app2/link',
    'C /usr', 'D /usr/x', 'A /usr/y', 'A /usr/y/f', 'A /usr/y/sub', 'A /usr/y/sub/g', 'A /usr/y/sub/h', '',
  ].join('\n'), 'diff: D at the old path, A for the new one and all it holds')

  t.equal(kernelTree(up, 'base:2'), live, 'kernel overlayfs shows the container\'s upper as strata did')

  const { mounted, unpacked } = committed('web', 'moved:1')
  t.equal(mounted, live, 'the committed image, mounted by strata, shows the container\'s tree')
  t.equal(unpacked, live, 'umoci unpack of the committed image gives the same tree')
  const layer = execFileSync('sh', ['-c', `tar -tvf "$(ls -S ${dir}/store/oci/blobs/sha256/* | xargs -n1 sh -c 'tar -tf "$0" 2>/dev/null | grep -q "^srv/app2/.wh..wh..opq$" && echo "$0"' | head -1)"`], { encoding: 'utf8' })
  t.match(layer, /srv\/app2\/\.wh\.\.wh\.\.opq/, 'the renamed dir goes in opaque')
  t.match(layer, /opt\/\.wh\.app/, 'the old name as a whiteout')
  t.match(layer, /srv\/app2\/b\/hard link to srv\/app2\/a|srv\/app2\/a link to srv\/app2\/b\/hard/, 'hard links inside the renamed dir stay links')
})

t.test('changes inside a renamed dir, renames back and forth', async (t) => {
  const { dir, run, upper, chroot, committed, kernelTree } = setup(t)
  run('container', 'create', '--name', 'w2', 'base:2')
  run('mount', 'w2', `${dir}/mnt`)
  fs.renameSync(`${dir}/mnt/opt/app`, `${dir}/mnt/srv/app2`)
  chroot([
    'echo new > /srv/app2/new', 'rm /srv/app2/link', 'echo more >> /srv/app2/b/d', 'mkdir /srv/app2/b/e', 'chmod 700 /srv/app2/b',
    'mv /srv/app2/b /srv/app2/bb', // a rename inside a renamed dir
    'mv /usr/x /usr/y', 'mv /usr/y /usr/x', 'echo back > /usr/x/sub/back', // and back again
    'mkdir /opt/app', 'echo fresh > /opt/app/fresh', // a new dir at the old name
  ].join('\n'))
  // Only a file capability changes (copy-up keeps size and mtime): diff compares it, as docker's.
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', `${dir}/mnt/usr/x/f`])
  fs.renameSync(`${dir}/mnt/srv/app2`, `${dir}/mnt/srv/app3`)
  fs.renameSync(`${dir}/mnt/srv/app3`, `${dir}/mnt/app4`)
  const live = tree(`${dir}/mnt`)
  run('umount', `${dir}/mnt`)
  t.match(live, /\.\/app4\/bb d 700 .*\n\.\/app4\/bb\/d f 644 0:0 9 \n\.\/app4\/bb\/e d /, 'the changes made inside show')
  t.notMatch(live, /\.\/opt\/app\/a /, 'nothing of the old content at the recreated old name')
  t.equal(kernelTree(upper('w2'), 'base:2'), live, 'kernel overlayfs shows the same tree from that upper')
  const { mounted, unpacked } = committed('w2', 'moved:2')
  t.equal(mounted, live, 'strata mount of the commit shows the container\'s tree')
  t.equal(unpacked, live, 'umoci unpack of the commit shows the container\'s tree')
  t.equal(run('diff', 'w2'), [
    'A /app4', 'A /app4/a', 'A /app4/bb', 'A /app4/bb/d', 'A /app4/bb/e', 'A /app4/bb/hard', 'A /app4/new',
    'C /opt', 'C /opt/app', 'A /opt/app/fresh', 'C /srv',
    // Renamed away and back: only what really changed shows.
    'C /usr', 'C /usr/x', 'C /usr/x/f', 'C /usr/x/sub', 'A /usr/x/sub/back', '',
  ].join('\n'), 'diff after renames back and forth')
})

t.test('two lower dirs exchanged (RENAME_EXCHANGE): both written with their merged content', async (t) => {
  const { dir, run, upper, committed, kernelTree } = setup(t)
  run('container', 'create', '--name', 'x', 'base:2')
  run('mount', 'x', `${dir}/mnt`)
  // renameat2(2) through glibc: Node has no RENAME_EXCHANGE.
  execFileSync('python3', ['-c', `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)
sys.exit(0 if r == 0 else os.strerror(ctypes.get_errno()))`, `${dir}/mnt/opt/app`, `${dir}/mnt/usr/x`])
  const live = tree(`${dir}/mnt`)
  run('umount', `${dir}/mnt`)
  t.match(live, /\.\/usr\/x\/b\/d f 644/, 'the app dir is at /usr/x')
  t.match(live, /\.\/opt\/app\/sub\/h f 644/, 'and the x dir at /opt/app')
  t.equal(kernelTree(upper('x'), 'base:2'), live, 'kernel overlayfs agrees')
  t.equal(run('diff', 'x'), [
    'C /opt', 'C /opt/app', 'D /opt/app/a', 'D /opt/app/b', 'A /opt/app/f', 'D /opt/app/link', 'A /opt/app/sub', 'A /opt/app/sub/g', 'A /opt/app/sub/h',
    'C /usr', 'C /usr/x', 'A /usr/x/a', 'A /usr/x/b', 'A /usr/x/b/d', 'A /usr/x/b/hard', 'D /usr/x/f', 'A /usr/x/link', 'D /usr/x/sub', '',
  ].join('\n'), 'diff compares each name with what the image had there, as docker\'s naive diff')
  const { mounted, unpacked } = committed('x', 'swapped:1')
  t.equal(mounted, live, 'strata mount of the commit shows the container\'s tree')
  t.equal(unpacked, live, 'umoci unpack of the commit shows the container\'s tree')
})

t.test('strata run and build RUN steps write redirects, and commit them', async (t) => {
  const { dir, run, upper, committed } = setup(t)
  run('run', '--name', 'r', 'base:2', '/bin/sh', '-c', 'mv /opt/app /srv/app2 && mv /usr/x /usr/y')
  t.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.redirect', `${upper('r')}/srv/app2`], { encoding: 'latin1' }), '/opt/app', 'strata run mounts with redirect_dir=on')
  run('mount', 'r', `${dir}/mnt`)
  const live = tree(`${dir}/mnt`)
  run('umount', `${dir}/mnt`)
  const { mounted, unpacked } = committed('r', 'ran:1')
  t.equal(mounted, live, 'the commit of the run container, mounted by strata, shows its tree')
  t.equal(unpacked, live, 'and umoci unpacks the same tree')

  run('mount', 'base:2', `${dir}/mnt`)
  const app = tree(`${dir}/mnt/opt/app`)
  run('umount', `${dir}/mnt`)
  fs.mkdirSync(`${dir}/ctx`)
  fs.writeFileSync(`${dir}/ctx/Dockerfile`, 'FROM base:2\nRUN mv /opt/app /srv/app2\n')
  run('image', 'build', '-t', 'built:1', `${dir}/ctx`)
  run('mount', 'built:1', `${dir}/mnt`)
  const built = tree(`${dir}/mnt/srv/app2`)
  const opt = fs.readdirSync(`${dir}/mnt/opt`)
  run('umount', `${dir}/mnt`)
  t.equal(built, app, 'a RUN step that renames a dir: the built image holds its whole content at the new name')
  t.same(opt, [], 'and nothing at the old one')
})

t.test('redirects only where asked: raw mounts and -o redirect_dir=off keep EXDEV', async (t) => {
  const { dir, run } = setup(t)
  const kernelDefaultOn = fs.readFileSync('/sys/module/overlay/parameters/redirect_dir', 'utf8').trim() === 'Y'
  run('container', 'create', '--name', 'off', 'base:2')
  run('mount', '-o', 'redirect_dir=off', 'off', `${dir}/mnt`)
  t.throws(() => { fs.renameSync(`${dir}/mnt/opt/app`, `${dir}/mnt/srv/app2`) }, { code: 'EXDEV' }, 'a container mounted with -o redirect_dir=off')
  run('umount', `${dir}/mnt`)
  const lower = `${dir}/store/layers/${(JSON.parse(run('image', 'inspect', 'base:1'))[0].RootFS.diff_ids[0] as string).slice(7)}`
  fs.mkdirSync(`${dir}/u`)
  fs.mkdirSync(`${dir}/w`)
  run('mount', '--lowerdir', lower, '--upperdir', `${dir}/u`, '--workdir', `${dir}/w`, `${dir}/mnt`)
  t.ok(fs.existsSync(`${dir}/mnt/opt`), 'the raw mount shows the layer')
  if (kernelDefaultOn) {
    fs.renameSync(`${dir}/mnt/opt`, `${dir}/mnt/opt2`)
    t.ok(fs.existsSync(`${dir}/mnt/opt2`), 'a raw mount keeps the kernel default (on here)')
  } else {
    t.throws(() => { fs.renameSync(`${dir}/mnt/opt`, `${dir}/mnt/opt2`) }, { code: 'EXDEV' }, 'a raw mount keeps the kernel default (off)')
  }
  run('umount', `${dir}/mnt`)
})

t.test('a commit without redirects is byte for byte what it was', async (t) => {
  const { dir, run, upper } = setup(t)
  run('container', 'create', '--name', 'plain', 'base:2')
  run('mount', 'plain', `${dir}/mnt`)
  execFileSync('chroot', [`${dir}/mnt`, '/bin/sh', '-ec', 'echo x > /opt/app/b/d; rm /usr/x/f; mkdir /new; echo n > /new/n; rm -r /usr/x/sub; mkdir /usr/x/sub'])
  run('umount', `${dir}/mnt`)
  const up = upper('plain')
  const lowers = (JSON.parse(run('image', 'inspect', 'base:2'))[0].RootFS.diff_ids as string[]).reverse().map((d) => `${dir}/store/layers/${d.slice(7)}`)
  t.ok(fs.existsSync(lowers[0]), 'the image\'s layer dirs')
  const without = await archive(up)
  const withLowers = await archive(up, lowers)
  t.ok(without.equals(withLowers), 'with or without the lowers, the same bytes when nothing was renamed')
  run('commit', 'plain', 'plain:1')
  const ids = JSON.parse(run('image', 'inspect', 'plain:1'))[0].RootFS.diff_ids as string[]
  t.equal(ids[ids.length - 1], 'sha256:' + crypto.createHash('sha256').update(without).digest('hex'), 'the committed layer is the plain archive of the upper')
  t.notOk(mountedType(`${dir}/mnt`), 'nothing left mounted')
})

// Overlay semantics through a real strata mount (our FUSE binding): every
// rule of the union filesystem issue, checked from outside the daemon the way
// a user meets it, plus the upper dir's on-disk format.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { native } from '../../src/native/binding.js'
import { strataUnion } from '../fixtures/strata-union.js'

const sh = (cmd: string, opts: { uid?: number } = {}): string => {
  const args = opts.uid !== undefined ? ['setpriv', '--reuid', String(opts.uid), '--regid', String(opts.uid), '--clear-groups', 'sh', '-c', cmd] : ['sh', '-c', cmd]
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`)
  return r.stdout
}
const opaque = (p: string): string | null => {
  const v = native.getxattr(-100, p, 'trusted.overlay.opaque')
  return v ? v.toString() : null
}
const isWhiteout = (p: string): boolean => {
  const st = fs.lstatSync(p)
  return st.isCharacterDevice() && st.rdev === 0
}
const code = (fn: () => unknown): string | undefined => {
  try { fn(); return undefined } catch (e) { return (e as NodeJS.ErrnoException).code }
}

t.test('whiteouts and opaque directories', async (t) => {
  const u = await strataUnion(t, [{ etc: { motd: 'top', extra: 'e' } }, { etc: { motd: 'bottom', os: 'deb' }, usr: { share: { a: '1', b: { c: '2' } } } }])
  const m = u.mnt
  t.equal(fs.readFileSync(`${m}/etc/motd`, 'utf8'), 'top')
  fs.unlinkSync(`${m}/etc/motd`)
  t.ok(isWhiteout(`${u.upper}/etc/motd`), 'removing a lower file leaves a char 0/0 whiteout')
  t.notOk(fs.existsSync(`${m}/etc/motd`), 'the bottom copy does not resurrect')
  fs.writeFileSync(`${m}/etc/motd`, 'new')
  t.ok(fs.lstatSync(`${u.upper}/etc/motd`).isFile(), 'recreating the name drops the whiteout')
  fs.writeFileSync(`${m}/etc/mine`, 'm')
  fs.unlinkSync(`${m}/etc/mine`)
  t.notOk(fs.existsSync(`${u.upper}/etc/mine`), 'no whiteout for an upper-only name')
  t.equal(code(() => { fs.rmdirSync(`${m}/usr/share`) }), 'ENOTEMPTY')
  sh(`rm -rf ${m}/usr/share && mkdir ${m}/usr/share`)
  t.same(fs.readdirSync(`${m}/usr/share`), [], 'rm -rf then mkdir gives an empty dir')
  t.equal(opaque(`${u.upper}/usr/share`), 'y', 'and it is opaque in the upper')
  fs.mkdirSync(`${m}/usr/share/x`)
  fs.rmdirSync(`${m}/usr/share/x`)
  fs.rmdirSync(`${m}/usr/share`)
  t.ok(isWhiteout(`${u.upper}/usr/share`), 'rmdir of the opaque dir leaves a whiteout')
  fs.unlinkSync(`${m}/etc/os`)
  fs.unlinkSync(`${m}/etc/extra`)
  fs.unlinkSync(`${m}/etc/motd`)
  fs.rmdirSync(`${m}/etc`)
  t.ok(isWhiteout(`${u.upper}/etc`), 'rmdir of a dir holding only whiteouts works')
})

t.test('OCI whiteout forms in a lower are honoured', async (t) => {
  const u = await strataUnion(t, [{ '.wh.gone': '', d: { '.wh..wh..opq': '', new: 'n' } }, { gone: 'g', d: { old: 'o' }, kept: 'k' }])
  t.same(fs.readdirSync(u.mnt).sort(), ['d', 'kept'])
  t.same(fs.readdirSync(`${u.mnt}/d`), ['new'])
})

t.test('copy-up keeps data, metadata, xattrs, capabilities; read-only opens do not copy up', async (t) => {
  const cap = '0x0100000200040000000000000000000000000000' // cap_net_bind_service+ep
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- 'link' is a file in a fixture tree, not String.prototype.link
  const u = await strataUnion(t, [{ bin: { tool: 'ELF...', link: 'x' }, big: Buffer.alloc(8 << 20, 0x5a) }], ([l]) => {
    fs.chownSync(`${l}/bin/tool`, 101, 202) // before the capability: chown drops it
    fs.chmodSync(`${l}/bin/tool`, 0o4755)
    execFileSync('setfattr', ['-n', 'security.capability', '-v', cap, `${l}/bin/tool`])
    execFileSync('setfattr', ['-n', 'user.mime', '-v', 'app/x', `${l}/bin/tool`])
    execFileSync('touch', ['-d', '@1600000000.987654321', `${l}/bin/tool`])
    fs.unlinkSync(`${l}/bin/link`)
    fs.symlinkSync('../big', `${l}/bin/link`)
    execFileSync('touch', ['-h', '-d', '@1600000001.5', `${l}/bin/link`])
    execFileSync('touch', ['-d', '@1500000000', `${l}/bin`])
  })
  const m = u.mnt
  fs.readFileSync(`${m}/big`)
  t.notOk(fs.existsSync(`${u.upper}/big`), 'a read-only open does not copy up')
  execFileSync('setfattr', ['-n', 'user.more', '-v', '1', `${m}/bin/tool`])
  const st = fs.lstatSync(`${u.upper}/bin/tool`, { bigint: true })
  t.equal(st.uid, 101n)
  t.equal(st.gid, 202n)
  t.equal(Number(st.mode & 0o7777n), 0o4755)
  t.equal(st.mtimeNs, 1600000000987654321n, 'nanosecond mtime')
  t.equal(fs.readFileSync(`${u.upper}/bin/tool`, 'utf8'), 'ELF...')
  t.equal(execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '--only-values', '-n', 'security.capability', `${u.upper}/bin/tool`]).toString('hex'),
    Buffer.from(cap.slice(2), 'hex').toString('hex'), 'security.capability survives copy-up')
  t.match(execFileSync('getfattr', ['--absolute-names', '-d', `${m}/bin/tool`], { encoding: 'utf8' }), /user\.mime="app\/x"[\s\S]*user\.more="1"/)
  t.equal(fs.lstatSync(`${u.upper}/bin`, { bigint: true }).mtimeNs, 1500000000000000000n, 'parent copied up with its times, not moved by the copy-up')
  execFileSync('chown', ['-h', '7:8', `${m}/bin/link`])
  t.equal(fs.readlinkSync(`${u.upper}/bin/link`), '../big', 'symlink target kept')
  t.equal(fs.lstatSync(`${u.upper}/bin/link`, { bigint: true }).mtimeNs, 1600000001500000000n)
  fs.appendFileSync(`${m}/big`, 'z')
  const b = fs.readFileSync(`${u.upper}/big`)
  t.equal(b.length, (8 << 20) + 1)
  t.ok(b.subarray(0, 8 << 20).every((x) => x === 0x5a), 'big file data copied (reflink/copy_file_range path)')
  t.same(fs.readdirSync(`${u.work}/work`), [], 'the work dir is left empty')
  fs.truncateSync(`${m}/bin/tool`, 2)
  t.equal(fs.readFileSync(`${m}/bin/tool`, 'utf8'), 'EL', 'truncate copies up')
})

t.test('setuid cleared on write; UTIME_NOW/OMIT; chmod/chown/utimens copy up', async (t) => {
  const u = await strataUnion(t, [{ s: 'suid', f: 'f' }], ([l]) => {
    fs.chmodSync(`${l}/s`, 0o4777)
    execFileSync('touch', ['-d', '@1400000000.5', `${l}/f`])
  })
  sh(`echo more >> ${u.mnt}/s`, { uid: 65534 })
  t.equal(fs.statSync(`${u.mnt}/s`).mode & 0o7777, 0o777, 'a write by another user clears setuid')
  execFileSync('touch', ['-a', `${u.mnt}/f`])
  t.equal(fs.statSync(`${u.mnt}/f`, { bigint: true }).mtimeNs, 1400000000500000000n, 'touch -a leaves mtime (UTIME_OMIT)')
  const before = Date.now() / 1000 - 5
  execFileSync('touch', ['-m', `${u.mnt}/f`])
  t.ok(fs.statSync(`${u.mnt}/f`).mtimeMs / 1000 > before, 'touch -m sets mtime now (UTIME_NOW)')
  execFileSync('touch', ['-m', '-d', '@1300000000.25', `${u.mnt}/f`])
  t.equal(fs.statSync(`${u.mnt}/f`, { bigint: true }).mtimeNs, 1300000000250000000n, 'explicit nanosecond mtime')
})

t.test('rename rules', async (t) => {
  const u = await strataUnion(t, [{ a: 'A', dir: { x: 'x' }, b: 'B' }])
  const m = u.mnt
  fs.renameSync(`${m}/a`, `${m}/a2`)
  t.ok(isWhiteout(`${u.upper}/a`), 'a file moved from a lower leaves a whiteout')
  t.equal(fs.readFileSync(`${m}/a2`, 'utf8'), 'A')
  fs.renameSync(`${m}/dir`, `${m}/dir3`)
  t.same(fs.readdirSync(`${m}/dir3`), ['x'], 'rename(2) of a lower dir succeeds (redirect_dir)')
  t.same(fs.readdirSync(`${u.upper}/dir3`), [], 'without copying its tree')
  t.equal(native.getxattr(-100, `${u.upper}/dir3`, 'trusted.overlay.redirect')?.toString(), 'dir', 'the upper records where it came from')
  t.notOk(fs.existsSync(`${m}/dir`))
  fs.mkdirSync(`${m}/new`)
  fs.renameSync(`${m}/new`, `${m}/new2`)
  t.ok(fs.existsSync(`${m}/new2`), 'an upper-only dir renames')
  t.equal(code(() => { native.renameat2(-100, `${m}/a2`, -100, `${m}/b`, 1) }), 'EEXIST', 'RENAME_NOREPLACE over a lower file')
  native.renameat2(-100, `${m}/a2`, -100, `${m}/b`, 2)
  t.equal(fs.readFileSync(`${m}/b`, 'utf8'), 'A', 'RENAME_EXCHANGE')
  t.equal(fs.readFileSync(`${m}/a2`, 'utf8'), 'B')
})

t.test('inode numbers, link counts, hard links', async (t) => {
  const u = await strataUnion(t, [{ d: { s1: {}, s2: {}, f: 'f' }, h1: 'h' }], ([l]) => { fs.linkSync(`${l}/h1`, `${l}/h2`) })
  const m = u.mnt
  const h1 = fs.statSync(`${m}/h1`)
  const h2 = fs.statSync(`${m}/h2`)
  t.equal(h1.ino, h2.ino, 'hard links in a lower share st_ino')
  t.equal(h1.nlink, 2)
  t.equal(fs.statSync(`${m}/d`).nlink, 4, 'directory nlink = 2 + subdirectories')
  const ino = fs.statSync(`${m}/d/f`).ino
  fs.chmodSync(`${m}/d/f`, 0o600)
  t.equal(fs.statSync(`${m}/d/f`).ino, ino, 'st_ino stable across copy-up')
  const fd = native.openat(-100, `${m}/d`, 0o200000, 0)
  const [names, , inos] = native.readdir(fd)
  native.close(fd)
  for (let i = 0; i < names.length; i++) t.equal(inos[i], fs.lstatSync(`${m}/d/${names[i]}`).ino, `d_ino = st_ino for ${names[i]}`)
  fs.linkSync(`${m}/d/f`, `${m}/d/g`)
  t.equal(fs.statSync(`${m}/d/g`).ino, ino, 'a new hard link shares st_ino')
  t.equal(fs.statSync(`${m}/d/f`).nlink, 2)
  fs.unlinkSync(`${m}/d/g`)
  t.equal(fs.statSync(`${m}/d/f`).nlink, 1, 'and unlinking it drops the count')
})

t.test('st_ino is stable across remounts', async (t) => {
  const u = await strataUnion(t, [{ f: 'f', g: 'g' }])
  fs.appendFileSync(`${u.mnt}/f`, 'x')
  const before = [fs.statSync(`${u.mnt}/f`).ino, fs.statSync(`${u.mnt}/g`).ino]
  await u.mounted.unmount()
  execFileSync(path.resolve('bin/strata'), ['mount', '--lowerdir', u.lowerdir, '--upperdir', u.upper, '--workdir', u.work, u.mnt])
  t.teardown(() => { spawnSync(path.resolve('bin/strata'), ['umount', u.mnt]) })
  t.same([fs.statSync(`${u.mnt}/f`).ino, fs.statSync(`${u.mnt}/g`).ino], before)
  execFileSync(path.resolve('bin/strata'), ['umount', u.mnt])
})

// The session has no flush op (the kernel stops sending FLUSH after its
// first ENOSYS): close must still leave the data where every reader finds it.
t.test('data written and closed is what readers see: on disk at once, through the mount, after remount', async (t) => {
  const u = await strataUnion(t, [{ lower: 'lower data' }])
  for (let i = 0; i < 3; i++) {
    // New files and copy-ups, each closed once (the later closes send no FLUSH at all).
    const name = i % 2 ? 'lower' : `new${i}`
    const fd = fs.openSync(`${u.mnt}/${name}`, 'w')
    fs.writeSync(fd, `written ${i}`)
    fs.closeSync(fd)
    t.equal(fs.readFileSync(path.join(u.upper, name), 'utf8'), `written ${i}`, `close ${i}: the upper file holds the data`)
    t.equal(sh(`cat ${u.mnt}/${name}`), `written ${i}`, `close ${i}: another process reads it through the mount`)
  }
  await u.mounted.unmount()
  execFileSync(path.resolve('bin/strata'), ['mount', '--lowerdir', u.lowerdir, '--upperdir', u.upper, '--workdir', u.work, u.mnt])
  t.teardown(() => { spawnSync(path.resolve('bin/strata'), ['umount', u.mnt]) })
  t.same(['new0', 'lower', 'new2'].map((n) => sh(`cat ${u.mnt}/${n}`)), ['written 0', 'written 1', 'written 2'], 'and after a remount')
  execFileSync(path.resolve('bin/strata'), ['umount', u.mnt])
})

t.test('xattrs: internal ones are invisible and cannot be set', async (t) => {
  const u = await strataUnion(t, [{ d: { f: 'x' } }])
  fs.rmSync(`${u.mnt}/d/f`)
  fs.writeFileSync(`${u.mnt}/d/f`, 'y')
  fs.chmodSync(`${u.mnt}/d`, 0o700)
  const all = execFileSync('getfattr', ['-R', '-d', '-m', '-', '--absolute-names', u.mnt], { encoding: 'utf8' })
  t.notMatch(all, /trusted\.overlay/, 'no trusted.overlay.* through the mount')
  t.equal(spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', `${u.mnt}/d`]).status, 1, 'setting one fails')
  execFileSync('setfattr', ['-n', 'trusted.mine', '-v', 'ok', `${u.mnt}/d`])
  t.match(execFileSync('getfattr', ['-d', '-m', '-', '--absolute-names', `${u.mnt}/d`], { encoding: 'utf8' }), /trusted\.mine="ok"/)
})

t.test('names and paths: NAME_MAX, deep paths, non-UTF-8 bytes, special files', async (t) => {
  const u = await strataUnion(t, [{ d: {} }])
  const m = u.mnt
  const long = 'n'.repeat(255)
  fs.writeFileSync(`${m}/${long}`, 'x')
  t.equal(fs.readFileSync(`${m}/${long}`, 'utf8'), 'x', 'a name of NAME_MAX bytes works')
  t.equal(code(() => { fs.writeFileSync(`${m}/${long}x`, 'x') }), 'ENAMETOOLONG')
  t.equal(code(() => fs.statSync(`${m}/${long}x`)), 'ENAMETOOLONG')
  const seg = 'd'.repeat(200)
  // chdir one name at a time, as a process deep in a tree does.
  const out = execFileSync('python3', ['-c', `import os
os.chdir('${m}')
for i in range(25):
    os.mkdir('${seg}'); os.chdir('${seg}')
open('f', 'w').write('deep')
print(open('f').read())
print(len(os.getcwd()))`], { encoding: 'utf8' })
  const [word, len] = out.trim().split('\n')
  t.equal(word, 'deep')
  t.ok(Number(len) > 4096, `a path of ${len} bytes, past PATH_MAX, works`)
  const raw = Buffer.concat([Buffer.from(`${m}/`), Buffer.from([0xff, 0xfe, 0x41, 0x80])])
  fs.writeFileSync(raw, 'bytes')
  t.ok(fs.readdirSync(Buffer.from(m), { encoding: 'buffer' }).some((n) => n.equals(Buffer.from([0xff, 0xfe, 0x41, 0x80]))), 'non-UTF-8 name listed byte for byte')
  t.equal(fs.readFileSync(raw, 'utf8'), 'bytes')
  execFileSync('mknod', [`${m}/null`, 'c', '1', '3'])
  execFileSync('mknod', [`${m}/blk`, 'b', '7', '0'])
  execFileSync('mkfifo', [`${m}/fifo`])
  execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind('${m}/sock')`])
  t.ok(fs.lstatSync(`${m}/null`).isCharacterDevice() && fs.lstatSync(`${m}/null`).rdev === fs.statSync('/dev/null').rdev)
  t.ok(fs.lstatSync(`${m}/blk`).isBlockDevice())
  t.ok(fs.lstatSync(`${m}/fifo`).isFIFO())
  t.ok(fs.lstatSync(`${m}/sock`).isSocket())
  t.equal(sh(`echo hi > ${m}/null; cat ${m}/null | wc -c`).trim(), '0', 'a device node made in the union works (dev)')
  t.not(spawnSync('mknod', [`${m}/wh`, 'c', '0', '0']).status, 0, 'mknod of a char 0/0 fails')
  t.notOk(fs.existsSync(`${m}/wh`), 'a whiteout device cannot be made through the mount')
})

t.test('readdir: merged without duplicates, seekdir, entries added while listing', async (t) => {
  const files: Record<string, string> = {}
  for (let i = 0; i < 300; i++) files[`f${i}`] = String(i)
  const u = await strataUnion(t, [{ d: { ...files, top: 't' } }, { d: { ...files, bottom: 'b' } }])
  const names = fs.readdirSync(`${u.mnt}/d`)
  t.equal(names.length, 302)
  t.equal(new Set(names).size, names.length, 'no duplicates')
  const seek = sh(`perl -e 'opendir D, $ARGV[0] or die; readdir D for 1..100; $p = telldir D; @a = readdir D; seekdir D, $p; @b = readdir D; print scalar(@a), " ", ("@a" eq "@b" ? "same" : "diff")' ${u.mnt}/d`)
  t.equal(seek, '204 same', 'seekdir back to a telldir position replays the same entries')
  const added = sh(`perl -e 'opendir D, $ARGV[0] or die; @a = map { scalar readdir D } 1..50; for (1..50) { open F, ">", "$ARGV[0]/new$_" } push @a, $_ while defined($_ = readdir D); %s = (); $s{$_}++ for @a; print scalar(grep { $s{$_} > 1 } keys %s), " ", scalar(grep { /^f/ } keys %s)' ${u.mnt}/d`)
  t.equal(added, '0 300', 'entries added while listing: no duplicates, nothing lost')
})

t.test('no symlink in a layer leads a lookup outside it', async (t) => {
  const u = await strataUnion(t, [{ x: { a: 'a' } }, {}], ([, l1]) => {
    fs.symlinkSync('/etc', `${l1}/x`)
  })
  t.same(fs.readdirSync(`${u.mnt}/x`), ['a'], 'a symlink below a dir does not merge its target')
  fs.rmSync(`${u.mnt}/x/a`)
  fs.rmdirSync(`${u.mnt}/x`)
  t.ok(isWhiteout(`${u.upper}/x`))
  t.ok(fs.existsSync('/etc/passwd'), 'the host is untouched')
})

t.test('cross-mounting: kernel overlayfs shows the tree strata wrote', async (t) => {
  const u = await strataUnion(t, [{ etc: { a: 'a', b: 'b' }, usr: { lib: { x: 'x' } }, keep: 'k', opt: { tool: { bin: 'b' }, doc: 'd' } }])
  const m = u.mnt
  sh(`cd ${m} && rm etc/a && echo new > etc/c && rm -rf usr && mkdir usr && echo o > usr/only && mv keep kept && ln -s kept link && chmod 600 etc/b`)
  // renamed directories (redirects): within a dir, across dirs, then changed
  sh(`cd ${m} && mv opt opt2 && mkdir -p n/m && mv opt2/tool n/m/tool && echo more > n/m/tool/more && rm opt2/doc`)
  const list = (root: string): string => sh(`cd ${root} && find . -printf '%p %y %m %s %l\\n' | sort && find . -type f -exec sha1sum {} + | sort`)
  const ours = list(m)
  await u.mounted.unmount()
  const k = path.join(u.root, 'kmnt')
  fs.mkdirSync(k)
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${u.lowerdir},upperdir=${u.upper},workdir=${u.work},redirect_dir=on`, k])
  t.teardown(() => { spawnSync('umount', [k]) })
  t.equal(list(k), ours)
  execFileSync('umount', [k])
})

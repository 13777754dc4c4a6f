// Layer tars both ways: a tree in overlay format → OCI tar (read back by GNU
// tar and Python's tarfile) → extracted again, the same tree; deterministic
// bytes; and a corpus of hostile or broken archives, each refused with an
// error naming the entry, writing nothing outside the layer.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { Writable, Readable } from 'node:stream'
import { execFileSync, spawnSync } from 'node:child_process'
import { archiveLayer } from '../../src/image/layer-archive.js'
import { extractLayer } from '../../src/image/layer-extract.js'

async function archive (dir: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  const out = new Writable({ write (c, _e, cb) { chunks.push(c); cb() } })
  await archiveLayer(dir, out)
  return Buffer.concat(chunks)
}
const chunked = (b: Buffer, size = 7001): AsyncIterable<Buffer> => Readable.from((function * () {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
})())

/** A comparable listing of a tree: type, mode, owner, size, mtime ns, target, xattrs, content hash. */
function snapshot (dir: string): string {
  return execFileSync('sh', ['-c', 'cd "$1" && find . -mindepth 1 -printf \'%p %y %m %U:%G %s %T@ %l %n\\n\' | grep -v \' d .* [0-9]*$\' | sort; find . -mindepth 1 -type d -printf \'%p %m %U:%G %T@\\n\' | sort; find . -type f -exec sha1sum {} + | sort; getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v \'^#\' | sort', 'sh', dir], { encoding: 'utf8' })
}

function makeTree (root: string): void {
  const sh = (cmd: string): void => { execFileSync('sh', ['-c', cmd], { cwd: root }) }
  fs.mkdirSync(`${root}/etc/deep/er`, { recursive: true })
  fs.writeFileSync(`${root}/etc/passwd`, 'root:x:0:0\n')
  fs.writeFileSync(`${root}/etc/deep/er/big`, crypto.randomBytes(3 << 20))
  fs.linkSync(`${root}/etc/passwd`, `${root}/etc/passwd.hard`)
  fs.symlinkSync('../etc/passwd', `${root}/etc/link`)
  fs.mkdirSync(`${root}/opaque`)
  fs.writeFileSync(`${root}/opaque/kept`, 'k')
  sh('setfattr -n trusted.overlay.opaque -v y opaque')
  sh('mknod etc/gone c 0 0 && mknod dev-null c 1 3 && mknod loop0 b 7 0 && mkfifo fifo')
  fs.writeFileSync(`${root}/ping`, 'ELF')
  sh('chown 0:0 ping && chmod 4755 ping && setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 ping && setfattr -n user.note -v hi etc/passwd')
  sh('chown 1000:2000 etc/deep && setfattr -n trusted.overlay.origin -v internal etc/passwd')
  fs.writeFileSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 'latin1 name')
  fs.mkdirSync(`${root}/${'l'.repeat(120)}`)
  fs.writeFileSync(`${root}/${'l'.repeat(120)}/${'f'.repeat(200)}`, 'long')
  sh("find . -exec touch -h -d '@1600000000.123456789' {} +")
}

t.test('overlay tree → OCI tar → overlay tree', async (t) => {
  const dir = t.testdir({ src: {}, dst: {}, dst2: {} })
  const src = path.join(dir, 'src')
  makeTree(src)
  const tar = await archive(src)
  t.equal(crypto.createHash('sha256').update(tar).digest('hex'), crypto.createHash('sha256').update(await archive(src)).digest('hex'), 'deterministic: the same tree gives the same bytes')
  fs.writeFileSync(path.join(dir, 'layer.tar'), tar)
  const names = execFileSync('tar', ['tf', path.join(dir, 'layer.tar')], { encoding: 'latin1' }).trim().split('\n')
  t.ok(names.includes('etc/.wh.gone'), 'a whiteout becomes .wh.NAME')
  t.ok(names.indexOf('opaque/.wh..wh..opq') === names.indexOf('opaque/') + 1, 'the opaque marker comes right after its directory, before its children')
  t.notOk(names.includes('etc/gone'))
  t.ok(names.includes(`${'l'.repeat(120)}/${'f'.repeat(200)}`), 'long names (PAX path) read back by GNU tar')
  const py = execFileSync('python3', ['-c', `import tarfile,sys
t = tarfile.open(sys.argv[1], encoding='latin1', errors='surrogateescape')
m = {x.name: x for x in t.getmembers()}
print(m['ping'].pax_headers.get('SCHILY.xattr.security.capability', '').encode('latin1', 'surrogateescape').hex())
print(m['etc/passwd.hard'].type == tarfile.LNKTYPE, m['etc/passwd.hard'].linkname)
print(m['etc/passwd'].pax_headers.get('mtime'))
print('SCHILY.xattr.trusted.overlay.origin' in m['etc/passwd'].pax_headers, m['dev-null'].devmajor, m['dev-null'].devminor, m['loop0'].isblk())`, path.join(dir, 'layer.tar')], { encoding: 'utf8' }).trim().split('\n')
  t.equal(py[0], '0100000200200000000000000000000000000000', 'binary xattr values survive (Python tarfile reads them)')
  t.equal(py[1], 'True etc/passwd', 'hard links stay links')
  t.equal(py[2], '1600000000.123456789', 'nanosecond mtime as PAX')
  t.equal(py[3], 'False 1 3 True', 'overlay-internal xattrs left out; devices kept')

  const dst = path.join(dir, 'dst')
  await extractLayer(chunked(tar), dst)
  // A whiteout's own mode and time do not travel (OCI has only its name).
  const norm = (s: string): string => s.replace(/\n.*trusted\.overlay\.origin.*/g, '').replace(/^(\.\/etc\/gone c) .*$/m, '$1')
  t.equal(norm(snapshot(dst)), norm(snapshot(src)), 'extracting gives the same tree back')
  t.equal(fs.statSync(`${dst}/etc/passwd`).ino, fs.statSync(`${dst}/etc/passwd.hard`).ino, 'hard link restored')
  t.equal(crypto.createHash('sha256').update(await archive(dst)).digest('hex'), crypto.createHash('sha256').update(tar).digest('hex'), 'and archives to the same DiffID')
})

t.test('layers written by GNU tar in OCI form are read', async (t) => {
  const dir = t.testdir({ src: { a: { b: 'b' }, '.wh.x': '', c: { '.wh..wh..opq': '', d: 'd' } }, dst: {} })
  execFileSync('tar', ['--xattrs', '--format=pax', '-cf', path.join(dir, 'l.tar'), '-C', path.join(dir, 'src'), '.'])
  await extractLayer(Readable.from([fs.readFileSync(path.join(dir, 'l.tar'))]), path.join(dir, 'dst'))
  const st = fs.lstatSync(path.join(dir, 'dst/x'))
  t.ok(st.isCharacterDevice() && st.rdev === 0, '.wh.x became a whiteout')
  t.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', path.join(dir, 'dst/c')], { encoding: 'utf8' }), 'y', 'opaque marker became the xattr')
  t.same(fs.readdirSync(path.join(dir, 'dst/c')), ['d'])
  t.equal(fs.readFileSync(path.join(dir, 'dst/a/b'), 'utf8'), 'b')
})

// Hostile archives, made with Python's tarfile so the corpus does not depend
// on our own writer.
const hostile: Array<[string, string, RegExp]> = [
  ['dot-dot', "add('../evil', b'x')", /"\.\." in entry "\.\.\/evil"/],
  ['nested dot-dot', "add('a/../../evil', b'x')", /"\.\." in entry/],
  ['absolute path', "add('/etc/evil', b'x')", /absolute path in entry "\/etc\/evil"/],
  ['symlink parent escape', "sym('lnk', O); add('lnk/evil', b'x')", /goes through "lnk", which is not a directory/],
  ['symlink replaced then written', "sym('d', '..'); add('d/evil', b'x')", /not a directory/],
  ['hard link escape', "hard('h', '../../etc/passwd')", /"\.\." in hard link "h"/],
  ['hard link to absolute', "hard('h', '/etc/passwd')", /absolute path in hard link "h"/],
  ['hard link to missing', "hard('h', 'nothere')", /not in the layer/],
  ['whiteout climbing out', "add('.wh...', b'')", /bad whiteout|"\.\."/],
  ['whiteout through symlink', "sym('s', O); add('s/.wh.keep', b'')", /not a directory/],
  ['hard link through symlink', "sym('s', O); hard('h', 's/keep')", /not a directory/],
  ['char 0/0 device', "dev('w', 0, 0)", /reserves for whiteouts/],
]

for (const [what, body, msg] of hostile) {
  t.test(`hostile tar: ${what}`, async (t) => {
    const dir = t.testdir({ layer: {}, outside: { keep: 'k' } })
    const tarPath = path.join(dir, 'h.tar')
    execFileSync('python3', ['-c', `import tarfile, io, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
O = sys.argv[2]
def add(n, data):
    i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
def sym(n, target):
    i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
def hard(n, target):
    i = tarfile.TarInfo(n); i.type = tarfile.LNKTYPE; i.linkname = target; t.addfile(i)
def dev(n, ma, mi):
    i = tarfile.TarInfo(n); i.type = tarfile.CHRTYPE; i.devmajor = ma; i.devminor = mi; t.addfile(i)
${body}
t.close()`, tarPath, path.join(dir, 'outside')])
    const before = execFileSync('sh', ['-c', `ls -laR ${dir}/outside | md5sum`], { encoding: 'utf8' })
    await t.rejects(extractLayer(Readable.from([fs.readFileSync(tarPath)]), path.join(dir, 'layer')), msg)
    t.equal(execFileSync('sh', ['-c', `ls -laR ${dir}/outside | md5sum`], { encoding: 'utf8' }), before, 'nothing written outside the layer')
    t.notOk(fs.existsSync('/etc/evil') || fs.existsSync(path.join(dir, 'evil')))
  })
}

t.test('broken archives: truncated, corrupt header, not a tar', async (t) => {
  const dir = t.testdir({ src: { f: 'x'.repeat(5000) }, a: {}, b: {}, c: {} })
  const tar = await archive(path.join(dir, 'src'))
  await t.rejects(extractLayer(Readable.from([tar.subarray(0, 2000)]), path.join(dir, 'a')), /truncated tar: the data of f/)
  const bad = Buffer.from(tar)
  bad[10] ^= 0xff
  await t.rejects(extractLayer(Readable.from([bad]), path.join(dir, 'b')), /checksum mismatch/)
  await t.rejects(extractLayer(Readable.from([Buffer.from('this is not a tar archive'.repeat(40))]), path.join(dir, 'c')), /checksum mismatch|malformed tar/)
  t.ok(spawnSync('true').status === 0)
})

t.test('image-spec apply rules inside one layer', async (t) => {
  const dir = t.testdir({ layer: {} })
  const tarPath = path.join(dir, 'rules.tar')
  execFileSync('python3', ['-c', `import tarfile, io, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(n, data=b''):
    i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
def d(n):
    i = tarfile.TarInfo(n); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
d('dir'); add('dir/child', b'c'); add('dir/.wh..wh..opq')
add('kept', b'k'); add('.wh.kept')
d('was-dir'); add('was-dir/x', b'x'); add('was-dir', b'now a file')
t.close()`, tarPath])
  await extractLayer(Readable.from([fs.readFileSync(tarPath)]), path.join(dir, 'layer'))
  t.equal(fs.readFileSync(path.join(dir, 'layer/dir/child'), 'utf8'), 'c', 'an opaque marker after its siblings still keeps them (it hides lower layers only)')
  t.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', path.join(dir, 'layer/dir')], { encoding: 'utf8' }), 'y')
  t.equal(fs.readFileSync(path.join(dir, 'layer/kept'), 'utf8'), 'k', 'a whiteout does not hide an entry of its own layer')
  t.equal(fs.readFileSync(path.join(dir, 'layer/was-dir'), 'utf8'), 'now a file', 'a non-dir over an existing path replaces it')
})

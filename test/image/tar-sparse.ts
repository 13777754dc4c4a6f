// Sparse tar entries against GNU tar's own archives: old GNU (--format=gnu)
// and PAX 0.0, 0.1, 1.0 (--format=posix --sparse-version). Each extracts to
// the same bytes as the source, its holes still holes (allocated blocks
// about those of the source, far below the apparent size); a 1 TB sparse
// file costs a few blocks; a map that does not add up is refused naming the
// entry, with nothing written wrong.
import t from 'tap'
import fs from 'node:fs'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { Readable } from 'node:stream'
import { extractLayer } from '../../src/image/layer-extract.js'

const FORMATS: Array<[string, string[]]> = [
  ['old GNU', ['--format=gnu']],
  ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
  ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
  ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
]

const allocated = (f: string): number => fs.statSync(f).blocks * 512

/** A 64 MiB file with six data islands (one crossing no block edge, one at the very end). */
function makeSparse (file: string): void {
  const fd = fs.openSync(file, 'w')
  fs.ftruncateSync(fd, 64 << 20)
  const islands: Array<[number, number]> = [[0, 4096], [1_000_003, 777], [5 << 20, 100_000], [9_999_999, 5], [40 << 20, 3 << 20], [(64 << 20) - 10, 10]]
  for (const [off, len] of islands) fs.writeSync(fd, crypto.randomBytes(len), 0, len, off)
  fs.closeSync(fd)
}

const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex')

for (const [label, flags] of FORMATS) {
  t.test(`${label}: content equal, holes kept`, async (t) => {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- 'sub' is a file in a fixture tree, not String.prototype.sub
    const dir = t.testdir({ src: { sub: {} }, out: {} })
    makeSparse(`${dir}/src/sub/big`)
    fs.writeFileSync(`${dir}/src/plain`, 'after the sparse one')
    execFileSync('tar', ['-C', `${dir}/src`, '--sparse', ...flags, '-cf', `${dir}/a.tar`, 'sub/big', 'plain'])
    // The archive really is sparse (far smaller than the file).
    t.ok(fs.statSync(`${dir}/a.tar`).size < 8 << 20, 'GNU tar wrote a sparse entry')
    await extractLayer(fs.createReadStream(`${dir}/a.tar`), `${dir}/out`)
    t.equal(fs.statSync(`${dir}/out/sub/big`).size, 64 << 20, 'apparent size')
    t.equal(sha(`${dir}/out/sub/big`), sha(`${dir}/src/sub/big`), 'same bytes as the source')
    t.ok(allocated(`${dir}/out/sub/big`) <= allocated(`${dir}/src/sub/big`) + (64 << 10), `holes stay holes (${allocated(`${dir}/out/sub/big`)} bytes allocated, source ${allocated(`${dir}/src/sub/big`)})`)
    t.equal(fs.readFileSync(`${dir}/out/plain`, 'utf8'), 'after the sparse one', 'the entry after it is read right')
    // GNU tar itself agrees about the archive's content.
    execFileSync('tar', ['-C', `${dir}/out`, '--compare', '-f', `${dir}/a.tar`])
  })
}

t.test('a 1 TB sparse file costs a few blocks', async (t) => {
  const dir = t.testdir({ src: {}, out: {} })
  const fd = fs.openSync(`${dir}/src/huge`, 'w')
  fs.ftruncateSync(fd, 2 ** 40)
  fs.writeSync(fd, Buffer.from('tail'), 0, 4, 2 ** 40 - 4)
  fs.closeSync(fd)
  for (const [label, flags] of FORMATS) {
    execFileSync('tar', ['-C', `${dir}/src`, '--sparse', ...flags, '-cf', `${dir}/h.tar`, 'huge'])
    fs.rmSync(`${dir}/out`, { recursive: true, force: true })
    fs.mkdirSync(`${dir}/out`)
    await extractLayer(fs.createReadStream(`${dir}/h.tar`), `${dir}/out`)
    const st = fs.statSync(`${dir}/out/huge`)
    t.equal(st.size, 2 ** 40, `${label}: 1 TB apparent`)
    t.ok(st.blocks * 512 <= 64 << 10, `${label}: ${st.blocks * 512} bytes allocated`)
    const tail = Buffer.alloc(4)
    const rfd = fs.openSync(`${dir}/out/huge`, 'r')
    fs.readSync(rfd, tail, 0, 4, 2 ** 40 - 4)
    fs.closeSync(rfd)
    t.equal(tail.toString(), 'tail', `${label}: the data at the end`)
  }
})

/** A PAX 0.1 entry written by hand, with a map the test chooses. */
function pax01 (name: string, map: string, realSize: number, data: Buffer): Buffer {
  const rec = (k: string, v: string): string => {
    const body = ` ${k}=${v}\n`
    let len = body.length + 1
    while (String(len).length + body.length !== len) len = String(len).length + body.length
    return `${len}${body}`
  }
  const header = (n: string, flag: string, size: number): Buffer => {
    const b = Buffer.alloc(512)
    b.write(n, 0, 'latin1')
    b.write('0000644\0', 100); b.write('0000000\0', 108); b.write('0000000\0', 116)
    b.write(size.toString(8).padStart(11, '0') + '\0', 124); b.write('00000000000\0', 136)
    b.write(flag, 156); b.write('ustar\0', 257); b.write('00', 263)
    b.fill(32, 148, 156)
    let sum = 0
    for (const x of b) sum += x
    b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    return b
  }
  const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512)
  const pax = Buffer.from(rec('GNU.sparse.size', String(realSize)) + rec('GNU.sparse.name', name) + rec('GNU.sparse.map', map))
  return Buffer.concat([header('PaxHeaders/x', 'x', pax.length), pax, pad(pax.length), header('GNUSparseFile.0/' + name, '0', data.length), data, pad(data.length), Buffer.alloc(1024)])
}

t.test('a sparse map that does not add up is refused, naming the entry', async (t) => {
  const dir = t.testdir({})
  const cases: Array<[string, string, number, number, RegExp]> = [
    ['more data than the map', '0,10', 100, 20, /sparse file "bad": its map holds 10 bytes but the entry carries 20; refused/],
    ['overlapping regions', '0,10,5,10', 100, 20, /sparse file "bad": region 5\+10 overlaps another/],
    ['a region past the end', '95,10', 100, 10, /sparse file "bad": region 95\+10 .* outside its 100 bytes/],
    ['an odd map', '0,10,5', 100, 10, /GNU\.sparse\.map of "bad"/],
  ]
  for (const [label, map, real, n, msg] of cases) {
    const out = `${dir}/${label.replace(/ /g, '-')}`
    fs.mkdirSync(out)
    await t.rejects(extractLayer(Readable.from([pax01('bad', map, real, Buffer.alloc(n, 1))]), out), msg, label)
    t.notOk(fs.existsSync(`${out}/bad`), `${label}: nothing written`)
  }
})

// Unit tests of the tar header codec (src/image/tar-header.ts): what it
// writes decodes to what went in, byte for byte where layers need it (binary
// xattrs, non-UTF-8 names), and malformed headers are refused by name.
import t from 'tap'
import { BLOCK, applyPax, checksumOf, decodeBlock, decodePax, emptyHeader, encodeHeader, padding, type TarHeader } from '../../src/image/tar-header.js'

/** Decodes what encodeHeader wrote: an optional PAX header, then the main block. */
function decodeAll (buf: Buffer): TarHeader {
  const first = decodeBlock(buf.subarray(0, BLOCK))
  if (!first) throw new Error('end block')
  if (first.flag !== 'x') return first.header
  const size = first.header.size
  const pax = decodePax(buf.subarray(BLOCK, BLOCK + size))
  const mainAt = BLOCK + size + padding(size)
  const main = decodeBlock(buf.subarray(mainAt, mainAt + BLOCK))
  if (!main) throw new Error('no main block')
  applyPax(main.header, pax)
  return main.header
}

t.test('a plain file round-trips in one ustar block', async (t) => {
  const h = { ...emptyHeader('etc/passwd', 'file'), mode: 0o640, uid: 12, gid: 34, size: 1234, mtimeSec: 1700000000 }
  const buf = encodeHeader(h)
  t.equal(buf.length, BLOCK, 'no PAX header needed')
  t.equal(buf.toString('latin1', 257, 263), 'ustar\0')
  t.same(decodeAll(buf), h)
})

t.test('every type keeps its flag, link target and device numbers', async (t) => {
  const cases: TarHeader[] = [
    { ...emptyHeader('bin', 'dir'), mode: 0o755 },
    { ...emptyHeader('bin/sh', 'symlink'), linkname: 'busybox', mode: 0o777 },
    { ...emptyHeader('bin/ls', 'link'), linkname: 'bin/busybox' },
    { ...emptyHeader('dev/null', 'char'), devmajor: 1, devminor: 3, mode: 0o666 },
    { ...emptyHeader('dev/sda', 'block'), devmajor: 8, devminor: 0 },
    { ...emptyHeader('run/fifo', 'fifo') },
  ]
  for (const h of cases) t.same(decodeAll(encodeHeader(h)), h, h.type)
  t.equal(String.fromCharCode(encodeHeader(cases[0])[156]), '5', 'directories carry flag 5')
})

t.test('names: split into prefix/name when they fit, PAX path when not, raw bytes kept', async (t) => {
  const mid = 'd'.repeat(120) + '/' + 'f'.repeat(90)
  const midBuf = encodeHeader(emptyHeader(mid, 'file'))
  t.equal(midBuf.length, BLOCK, 'a 211-byte name fits ustar prefix + name')
  t.equal(decodeAll(midBuf).name, mid)

  const long = 'x'.repeat(300)
  const longBuf = encodeHeader(emptyHeader(long, 'file'))
  t.ok(longBuf.length > BLOCK, 'a 300-byte name needs a PAX record')
  t.equal(decodeAll(longBuf).name, long)

  const raw = Buffer.from([0x66, 0xff, 0xfe, 0x80]).toString('latin1') // not UTF-8
  t.equal(Buffer.from(decodeAll(encodeHeader(emptyHeader(raw, 'file'))).name, 'latin1').toString('hex'), '66fffe80')

  const target = 't'.repeat(150)
  t.equal(decodeAll(encodeHeader({ ...emptyHeader('l', 'symlink'), linkname: target })).linkname, target, 'long link target via PAX linkpath')
})

t.test('numbers too big for octal fields go to PAX; nanoseconds too', async (t) => {
  const h = { ...emptyHeader('big', 'file'), uid: 3_000_000, gid: 4_000_000, size: 2 ** 34 + 5, mtimeSec: 1700000000, mtimeNsec: 123456789 }
  const got = decodeAll(encodeHeader(h))
  t.equal(got.uid, 3_000_000)
  t.equal(got.gid, 4_000_000)
  t.equal(got.size, 2 ** 34 + 5)
  t.equal(got.mtimeNsec, 123456789)
})

t.test('xattrs are SCHILY.xattr records with binary values, in a fixed order', async (t) => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex')
  const h = { ...emptyHeader('bin/ping', 'file'), xattrs: new Map([['user.z', Buffer.from('last')], ['security.capability', cap]]) }
  const buf = encodeHeader(h)
  const got = decodeAll(buf)
  t.same(got.xattrs.get('security.capability'), cap, 'binary value byte for byte')
  t.same(got.xattrs.get('user.z'), Buffer.from('last'))
  t.same(encodeHeader({ ...h, xattrs: new Map([...h.xattrs].reverse()) }), buf, 'deterministic whatever the insertion order')
})

t.test('GNU base-256 numbers are read', async (t) => {
  const b = encodeHeader({ ...emptyHeader('huge', 'file'), size: 10 })
  b.fill(0, 124, 136)
  b[124] = 0x80
  b.writeUIntBE(2 ** 40, 130, 6)
  b.fill(0x20, 148, 156)
  b.write(checksumOf(b).toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  t.equal(decodeBlock(b)?.header.size, 2 ** 40)
})

t.test('malformed input is refused with EINVAL naming what is wrong', async (t) => {
  t.equal(decodeBlock(Buffer.alloc(BLOCK)), null, 'an all-zero block is the end')
  const bad = encodeHeader(emptyHeader('x', 'file'))
  bad[0] ^= 1
  t.throws(() => decodeBlock(bad), { code: 'EINVAL', message: /checksum/ })
  const octal = encodeHeader(emptyHeader('x', 'file'))
  octal.write('12z4567\0', 108, 'latin1')
  octal.fill(0x20, 148, 156)
  octal.write(checksumOf(octal).toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  t.throws(() => decodeBlock(octal), { code: 'EINVAL', message: /uid field/ })
  t.throws(() => decodePax(Buffer.from('99 path=x\n')), { code: 'EINVAL', message: /PAX record/ })
  t.throws(() => decodePax(Buffer.from('8 pathx\n')), { code: 'EINVAL', message: /without "="/ })
  const h = emptyHeader('x', 'file')
  t.throws(() => { applyPax(h, new Map([['mtime', Buffer.from('soon')]])) }, { code: 'EINVAL', message: /mtime/ })
  t.throws(() => { applyPax(emptyHeader('x', 'file'), new Map([['size', Buffer.from('-1')]])) }, { code: 'EINVAL', message: /size of x/ })
})

t.test('padding rounds up to the next block', async (t) => {
  t.equal(padding(0), 0)
  t.equal(padding(1), 511)
  t.equal(padding(512), 0)
  t.equal(padding(513), 511)
})

// Reads of a lower file that the daemon serves (an upper is present, so the
// file is not passed through: it may be copied up under an open fd). Each
// READ is spliced from the backing file, and a root mount's readahead is
// raised to one full reply per READ (native/fuse-session.cc): the bytes must
// still be exactly the lower file's at every offset and length, EOF included,
// and a sequential read must cost about one READ per MiB, not one per
// 128 KiB.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mountStrata, mountsUnder } from '../fixtures/mount-overlay.js'
import { RequestCounter, requestCountingUnavailable } from '../../src/bench/request-counter.js'

const isRoot = process.getuid?.() === 0
const SIZE = (8 << 20) + 777 // not a whole number of pages or of READs

/** The mount's bdi ("MAJ:MIN") from /proc/self/mountinfo: no stat of the mount. */
function bdiOf (mountpoint: string): string {
  const real = fs.realpathSync(mountpoint)
  let dev = ''
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ')
    if (f[4] === real) dev = f[2]
  }
  return dev
}

t.test('a lower file read through the daemon', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-lr-'))
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) spawnSync('umount', ['-l', mp])
    fs.rmSync(root, { recursive: true, force: true })
  })
  const d = { lowerdir: `${root}/l`, upperdir: `${root}/u`, workdir: `${root}/w`, mountpoint: `${root}/m` }
  for (const p of Object.values(d)) fs.mkdirSync(p)
  const content = randomBytes(SIZE)
  fs.writeFileSync(`${d.lowerdir}/big`, content)
  // Read only by the preads, so that none of it is in the page cache yet.
  fs.writeFileSync(`${d.lowerdir}/odd`, content)
  const mnt = await mountStrata(t, d)
  const file = `${d.mountpoint}/big`

  t.test('readahead is one spliced reply, for root', { skip: isRoot ? false : 'the bdi is root\'s to change' }, async (t) => {
    const dev = bdiOf(d.mountpoint)
    t.not(dev, '', 'the mount is in mountinfo')
    const kb = Number(fs.readFileSync(`/sys/class/bdi/${dev}/read_ahead_kb`, 'utf8'))
    t.ok(kb > 128 && kb <= 1024, `read_ahead_kb ${kb} is above the kernel's 128 and at most libfuse's 1 MiB`)
  })

  t.test('a sequential read is the lower file, in few READs', async (t) => {
    const why = requestCountingUnavailable()
    let got = Buffer.alloc(0)
    const read = (): void => {
      const r = spawnSync('dd', [`if=${file}`, 'bs=1M', 'status=none'], { maxBuffer: 2 * SIZE })
      t.equal(r.status, 0, 'dd read it')
      got = r.stdout
    }
    if (why || !isRoot) {
      read()
    } else {
      const dev = fs.statSync(d.mountpoint).dev
      const c = await RequestCounter.start((dev & 0xff) | ((dev >> 12) & 0xfff00))
      try { read() } finally {
        const n = await c.stop()
        // 8 MiB at ~1 MiB per READ is 9; at the kernel's default 128 KiB, 65.
        t.ok((n.READ ?? 0) > 0 && (n.READ ?? 0) <= 20, `READ requests: ${n.READ ?? 0}`)
      }
    }
    t.equal(got.length, SIZE, 'every byte, up to EOF')
    t.ok(got.equals(content), 'the same bytes')
  })

  t.test('reads at odd offsets and lengths, past EOF too', async (t) => {
    const fd = fs.openSync(`${d.mountpoint}/odd`, 'r')
    try {
      let bad = 0
      const cases: Array<[number, number]> = [[0, 1], [4095, 2], [1 << 20, 1 << 20], [(1 << 20) - 3, 9000], [SIZE - 10, 100], [SIZE, 10], [SIZE + 5000, 10], [3_333_333, 1_500_000]]
      for (const [off, len] of cases) {
        const buf = Buffer.alloc(len)
        const n = fs.readSync(fd, buf, 0, len, off)
        const want = content.subarray(Math.min(off, SIZE), Math.min(off + len, SIZE))
        if (n !== want.length || !buf.subarray(0, n).equals(want)) {
          bad++
          t.fail(`pread(${off}, ${len}) gave ${n} bytes`)
        }
      }
      t.equal(bad, 0, `${cases.length} preads match the lower file`)
    } finally {
      fs.closeSync(fd)
    }
  })

  t.test('unmounts', async () => { await mnt.unmount() })
})

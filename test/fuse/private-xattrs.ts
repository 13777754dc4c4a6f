// The overlay's private xattrs stay out of sight through the mount whichever
// prefix the mount uses: trusted.overlay.* for a root mount, user.overlay.*
// with userxattr (and for rootless mounts). Lower files are answered by the
// native fast path and upper ones by the union: both must hide the same
// names, and show every other, on files and directories.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

const names = (file: string): string[] => {
  const r = spawnSync('getfattr', ['-m', '-', '--absolute-names', file], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).sort()
}
const get = (file: string, name: string): number | null => spawnSync('getfattr', ['-n', name, '--absolute-names', file]).status

for (const [what, option, hidden, shown] of [
  ['a root mount', '', 'trusted.overlay.strata-test', 'user.overlay.kept'],
  ['userxattr', ',userxattr', 'user.overlay.strata-test', 'trusted.overlay.kept'],
] as const) {
  t.test(`${what}: ${hidden.replace(/\.strata-test$/, '.*')} is hidden, on lower and upper files alike`, async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pxattr-'))
    const env = { ...process.env, STRATA_RUN_DIR: `${root}/run` }
    for (const d of ['l', 'u', 'w', 'm', 'l/lower-dir', 'u/upper-dir']) fs.mkdirSync(`${root}/${d}`)
    for (const f of ['l/lower-file', 'u/upper-file', 'l/lower-dir', 'u/upper-dir']) {
      if (!f.endsWith('-dir')) fs.writeFileSync(`${root}/${f}`, 'x')
      for (const n of [hidden, shown, 'user.plain']) t.equal(spawnSync('setfattr', ['-n', n, '-v', 'v', `${root}/${f}`]).status, 0, `setfattr ${n} on ${f}`)
    }
    t.teardown(() => {
      for (const mp of mountsUnder(root).reverse()) if (spawnSync(strata, ['umount', mp], { env }).status !== 0) spawnSync('umount', ['-l', mp])
      fs.rmSync(root, { recursive: true, force: true })
    })
    const r = spawnSync(strata, ['-o', `lowerdir=${root}/l,upperdir=${root}/u,workdir=${root}/w${option}`, `${root}/m`], { env, encoding: 'utf8' })
    t.equal(r.status, 0, `mounted (${r.stderr.trim()})`)
    for (const f of ['lower-file', 'upper-file', 'lower-dir', 'upper-dir']) {
      t.same(names(`${root}/m/${f}`), [shown, 'user.plain'].sort(), `${f}: listxattr shows all but the private names`)
      t.not(get(`${root}/m/${f}`, hidden), 0, `${f}: getxattr of ${hidden} fails`)
      t.equal(get(`${root}/m/${f}`, shown), 0, `${f}: ${shown} is an ordinary name here`)
    }
  })
}

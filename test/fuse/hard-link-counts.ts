// Hard links in the upper layer are separate nodes to the kernel, so when
// one of them goes the others' link counts must not be served from the
// kernel's attribute cache: their attributes are never cached while they
// have more than one link (native/attr-rules.h's AttrTimeout). Checked on
// both paths that answer GETATTR: the loop threads' fast path (a root
// mount registers upper files with it) and the union in JS (userxattr
// keeps upper files out of the fast path).
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

for (const [what, option] of [['the fast path (a root mount)', ''], ['the union in JS (userxattr)', ',userxattr']] as const) {
  t.test(`${what}: a link count drops as soon as another link goes`, async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-nlink-'))
    const env = { ...process.env, STRATA_RUN_DIR: `${root}/run` }
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(`${root}/${d}`)
    fs.writeFileSync(`${root}/u/old`, 'in the upper before the mount')
    t.teardown(() => {
      for (const mp of mountsUnder(root).reverse()) if (spawnSync(strata, ['umount', mp], { env }).status !== 0) spawnSync('umount', ['-l', mp])
      fs.rmSync(root, { recursive: true, force: true })
    })
    const r = spawnSync(strata, ['-o', `lowerdir=${root}/l,upperdir=${root}/u,workdir=${root}/w${option}`, `${root}/m`], { env, encoding: 'utf8' })
    t.equal(r.status, 0, `mounted (${r.stderr.trim()})`)
    const m = `${root}/m`
    fs.writeFileSync(`${m}/new`, 'made through the mount')
    for (const f of ['old', 'new']) {
      t.equal(fs.statSync(`${m}/${f}`).nlink, 1, `${f}: one link`)
      fs.linkSync(`${m}/${f}`, `${m}/${f}-2`)
      fs.linkSync(`${m}/${f}`, `${m}/${f}-3`)
      t.equal(fs.statSync(`${m}/${f}`).nlink, 3, `${f}: three links`)
      t.equal(fs.statSync(`${m}/${f}-2`).nlink, 3, `${f}-2: three links`)
      fs.unlinkSync(`${m}/${f}-3`)
      t.equal(fs.statSync(`${m}/${f}`).nlink, 2, `${f}: two links once ${f}-3 is gone`)
      fs.unlinkSync(`${m}/${f}-2`)
      t.equal(fs.statSync(`${m}/${f}`).nlink, 1, `${f}: one link once ${f}-2 is gone`)
      t.equal(fs.statSync(`${root}/u/${f}`).nlink, 1, `${f}: the upper agrees`)
    }
  })
}

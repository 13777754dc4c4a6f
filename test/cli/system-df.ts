// system df (docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE) and system prune
// (asks unless -f; any answer but y leaves the store as it was).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { cliStore, rootfs, snapshot } from '../fixtures/cli-store.js'

const rows = (out: string): Record<string, Record<string, string>> =>
  Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>).map((r) => [r.Type, r]))

t.test('system df: totals, active, sizes, reclaimable', async (t) => {
  const s = cliStore(t)
  t.match(s.ok(['system', 'df']), /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+0\s+0\s+0B\s+0B \(0%\)\nContainers\s+0\s+0\s+0B\s+0B \(0%\)\nBuild Cache\s+0\s+0\s+0B\s+0B\n$/)
  // Two images of 100 kB files, one shared by a container; the container writes 50 kB.
  const r1 = rootfs(s.dir, 'r1', 'x'.repeat(100000))
  const r2 = rootfs(s.dir, 'r2', 'y'.repeat(100000))
  s.ok(['image', 'import', r1, 'a:1'])
  s.ok(['image', 'import', r2, 'b:1'])
  s.ok(['image', 'tag', 'a:1', 'a:2'])
  s.ok(['container', 'create', '--name', 'c', 'a:1'])
  const c = JSON.parse(s.ok(['container', 'inspect', 'c'])) as Array<{ UpperDir: string }>
  fs.writeFileSync(path.join(c[0].UpperDir, 'new'), 'z'.repeat(50000))
  const df = rows(s.ok(['system', 'df', '--format', 'json']))
  t.match(df.Images, { TotalCount: '2', Active: '1' }, 'an image with two names counts once')
  const [size] = /^[\d.]+kB$/.exec(df.Images.Size) ?? []
  t.ok(size && parseFloat(size) > 200 && parseFloat(size) < 210, `images: both layers (${df.Images.Size})`)
  t.match(df.Images.Reclaimable, /^10\d(\.\d+)?kB \(50%\)$/, 'reclaimable: the image no container uses')
  t.match(df.Containers, { TotalCount: '1', Active: '0' })
  t.match(df.Containers.Size, /^5\d(\.\d+)?kB$/, 'the writable layer')
  t.match(df.Containers.Reclaimable, /\(100%\)$/, 'an unmounted container is reclaimable')
  t.equal(s.ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']), 'Images=2\nContainers=1\nBuild Cache=0\n')
})

t.test('system prune asks first; -f removes unmounted containers and dangling images; -a all unused', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'a:1'])
  s.ok(['image', 'import', rootfs(s.dir, 'r2', 'two')])
  const cid = s.ok(['container', 'create', 'a:1']).trim()
  const before = snapshot(s.root)
  for (const answer of ['', 'n\n', 'no\n']) {
    const r = s.run(['system', 'prune'], answer)
    t.equal(r.status, 0)
    t.match(r.stderr, 'Are you sure you want to continue? [y/N]')
    t.equal(r.stdout, 'Nothing removed\n')
    t.same(snapshot(s.root), before, `answer ${JSON.stringify(answer)}: nothing changed`)
  }
  const out = s.ok(['system', 'prune'], 'y\n')
  t.match(out, `Deleted Containers:\n${cid}\n\nDeleted Images:\ndeleted: sha256:`)
  t.match(s.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^a:1\n$/, 'a named image stays without -a')
  const all = s.ok(['system', 'prune', '-a', '-f'])
  t.match(all, /untagged: a:1\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: /)
  t.equal(s.ok(['images', '-q']), '')
})

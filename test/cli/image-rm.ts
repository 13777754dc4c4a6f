// The image commands' bugs of issue 12, each as docker behaves: prune
// prints image IDs (852b667 printed manifest digests) and -a takes named
// images; rmi -f of an image a container uses untags it and it stays as
// <none> (852b667 hid it); inspect prints the images it found and fails for
// the others (852b667 printed nothing); history -H (852b667: a TypeError);
// logout with no server (852b667: "Not logged in to undefined"); a broken
// archive is one line on stderr, never a stack trace.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { cliStore, rootfs } from '../fixtures/cli-store.js'

const idOf = (s: ReturnType<typeof cliStore>, ref: string): string => (JSON.parse(s.ok(['image', 'inspect', ref])) as Array<{ Id: string }>)[0].Id

t.test('image prune prints image IDs; prune -a also takes named images no container uses', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'keep:1'])
  s.ok(['image', 'import', rootfs(s.dir, 'r2', 'two'), 'used:1'])
  s.ok(['image', 'import', rootfs(s.dir, 'r3', 'three')])
  const dangling = s.ok(['images', '-q', '--no-trunc', '--filter', 'dangling=true']).trim()
  const [keep, used] = [idOf(s, 'keep:1'), idOf(s, 'used:1')]
  s.ok(['container', 'create', 'used:1'])
  const out = s.ok(['image', 'prune', '-f'])
  t.match(out, new RegExp(`^Deleted Images:\\ndeleted: ${dangling}\\n\\nTotal reclaimed space: \\d`), 'the image ID, as docker prints it')
  t.same(s.ok(['images', '-q', '--no-trunc']).trim().split('\n').sort(), [keep, used].sort())
  const all = s.ok(['image', 'prune', '-a', '-f'])
  t.match(all, `untagged: keep:1\ndeleted: ${keep}\n`)
  t.notMatch(all, used, 'an image a container uses stays')
  t.same(s.ok(['images', '-q', '--no-trunc']).trim().split('\n'), [used])
  t.equal(s.ok(['image', 'prune']), 'Total reclaimed space: 0B\n', 'nothing to prune')
})

t.test('rmi -f of an image a container uses untags it; it stays listed as <none>', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'busy:1'])
  const id = idOf(s, 'busy:1')
  s.ok(['container', 'create', '--name', 'c1', 'busy:1'])
  const refused = s.run(['rmi', 'busy:1'])
  t.equal(refused.status, 1)
  t.match(refused.stderr, /used by container c1/)
  t.equal(s.ok(['rmi', '-f', 'busy:1']), 'Untagged: busy:1\n', 'untagged, not deleted')
  t.match(s.ok(['images', '--no-trunc']), new RegExp(`^<none>\\s+<none>\\s+${id}`, 'm'), 'listed as <none>')
  t.equal(s.ok(['images', '-q', '--filter', 'dangling=true']).trim(), id.slice(7, 19))
  s.ok(['container', 'rm', 'c1'])
  t.match(s.ok(['image', 'prune']), `deleted: ${id}`, 'once the container is gone, prune takes it')
})

t.test('rmi of several: each is tried, each failure reported', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'a:1'])
  const r = s.run(['rmi', 'nosuch:1', 'a:1'])
  t.equal(r.status, 1)
  t.match(r.stderr, /no image nosuch:1/)
  t.match(r.stdout, /^Untagged: a:1\nDeleted: sha256:/)
})

t.test('inspect prints the images it found and fails for the others', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'a:1'])
  const r = s.run(['image', 'inspect', 'a:1', 'nosuch'])
  t.equal(r.status, 1)
  t.same((JSON.parse(r.stdout) as Array<{ RepoTags: string[] }>).map((i) => i.RepoTags), [['a:1']])
  t.equal(r.stderr, 'Error: No such object: nosuch\n')
  const f = s.run(['image', 'inspect', '--format', '{{index .RepoTags 0}} {{.Os}}', 'nosuch', 'a:1'])
  t.equal(f.stdout, 'a:1 linux\n', '--format: one line per image found')
  t.equal(s.ok(['image', 'inspect', '--format', '{{json .Config.Labels}}', 'a:1']), 'null\n')
})

t.test('history: -H, --no-trunc, -q, --format', async (t) => {
  const s = cliStore(t)
  s.ok(['image', 'import', '-m', 'from a dir', rootfs(s.dir, 'r1', 'one'), 'h:1'])
  const human = s.ok(['image', 'history', '-H', 'h:1'])
  t.match(human, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n[0-9a-f]{12}\s+.* ago\s/, '-H (the default)')
  const raw = s.ok(['image', 'history', '-H=false', 'h:1'])
  t.match(raw, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, '-H=false: RFC 3339 dates')
  t.match(raw, /\s\d+\s+from a dir/, '-H=false: sizes in bytes')
  t.equal(s.ok(['image', 'history', '-q', 'h:1']), idOf(s, 'h:1').slice(7, 19) + '\n')
  t.equal(s.ok(['image', 'history', '--format', '{{.ID}}|{{.Comment}}', '--no-trunc', 'h:1']), `${idOf(s, 'h:1')}|from a dir\n`)
  t.match(JSON.parse(s.ok(['history', '--format', 'json', 'h:1'])), { Comment: 'from a dir' })
})

t.test('logout with no server', async (t) => {
  const s = cliStore(t)
  t.equal(s.ok(['logout']), 'Not logged in to any registry\n')
  const auth = (hosts: string[]): void => { fs.writeFileSync(s.env.STRATA_AUTH_FILE!, JSON.stringify({ auths: Object.fromEntries(hosts.map((h) => [h, { auth: Buffer.from('u:p').toString('base64') }])) })) }
  auth(['localhost:5000'])
  t.equal(s.ok(['logout']), 'Removing login credentials for localhost:5000\n', 'the one registry logged in')
  t.same(JSON.parse(fs.readFileSync(s.env.STRATA_AUTH_FILE!, 'utf8')).auths, {})
  auth(['a:1', 'b:2'])
  const r = s.run(['logout'])
  t.equal(r.status, 1)
  t.match(r.stderr, /logged in to 2 registries \(a:1, b:2\): name one/)
})

t.test('a broken archive: one line on stderr, no stack trace', async (t) => {
  const s = cliStore(t)
  for (const [what, manifest] of [['an object', { Config: 'c.json' }], ['an entry without Layers', [{ Config: 'c.json' }]]] as const) {
    const d = fs.mkdtempSync(path.join(s.dir, 'arch-'))
    fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(manifest))
    fs.writeFileSync(path.join(d, 'c.json'), '{"rootfs":{"type":"layers","diff_ids":[]}}')
    execFileSync('tar', ['-cf', `${d}.tar`, '-C', d, '.'])
    const r = s.run(['image', 'load', '-i', `${d}.tar`])
    t.equal(r.status, 1, `${what}: status 1`)
    t.match(r.stderr, /^strata: [^\n]+\n$/, `${what}: one line`)
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`)
  }
})

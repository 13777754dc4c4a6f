// strata image ls / images as docker documents them: newest first, a row per
// name, <none> for nameless images, -q, -a, --no-trunc, --digests, the
// REPOSITORY[:TAG] argument, every --filter, and --format (table, json with
// docker's keys, templates).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { cliStore, rootfs } from '../fixtures/cli-store.js'

const s = cliStore(t)
const id = (ref: string): string => (JSON.parse(s.ok(['image', 'inspect', ref])) as Array<{ Id: string }>)[0].Id
s.ok(['image', 'import', '-c', 'LABEL tier=base', rootfs(s.dir, 'r1', 'one'), 'alpha:1'])
s.ok(['image', 'import', '-c', 'LABEL tier=app', '-c', 'LABEL team=x', rootfs(s.dir, 'r2', 'two'), 'beta:1'])
s.ok(['image', 'tag', 'beta:1', 'reg.example:5000/beta/web:2'])
s.ok(['image', 'import', rootfs(s.dir, 'r3', 'three')])
const [alpha, beta] = [id('alpha:1'), id('beta:1')]
const dangling = s.ok(['image', 'ls', '-q', '--no-trunc', '--filter', 'dangling=true']).trim()
const short = (x: string): string => x.slice(7, 19)

t.test('the table: newest first, a row per name, <none> for no name', async (t) => {
  const lines = s.ok(['images']).trimEnd().split('\n')
  t.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/)
  const rows = lines.slice(1).map((l) => l.split(/\s{2,}/))
  t.same(rows.map((r) => [r[0], r[1], r[2]]), [
    ['<none>', '<none>', short(dangling)],
    ['beta', '1', short(beta)],
    ['reg.example:5000/beta/web', '2', short(beta)],
    ['alpha', '1', short(alpha)],
  ])
  const f = ['--format', 'table {{.Repository}}\t{{.ID}}\t{{.Size}}']
  t.equal(s.ok(['image', 'ls', ...f]), s.ok(['images', ...f]), 'images is image ls')
})

t.test('-q, --no-trunc, -a, --digests', async (t) => {
  t.same(s.ok(['images', '-q']).trim().split('\n'), [short(dangling), short(beta), short(alpha)], 'one ID per image')
  t.same(s.ok(['images', '-q', '--no-trunc']).trim().split('\n'), [dangling, beta, alpha])
  t.match(s.ok(['images', '--no-trunc']), beta, 'full IDs in the table')
  t.match(s.ok(['images', '--digests']).split('\n')[0], /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/, 'a DIGEST column')
  t.match(s.ok(['images', '--digests']).split('\n')[1], /^<none>\s+<none>\s+<none>\s+/, 'an image never pushed or pulled has no digest')
  t.equal(s.run(['images', '-a']).status, 0)
})

t.test('the REPOSITORY[:TAG] argument and the reference filter', async (t) => {
  const names = (...args: string[]): string[] => s.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args]).trim().split('\n').filter(Boolean)
  t.same(names('beta'), ['beta:1'])
  t.same(names('beta:1'), ['beta:1'])
  t.same(names('beta:2'), [])
  t.same(names('reg.example:5000/beta/web'), ['reg.example:5000/beta/web:2'])
  t.same(names('--filter', 'reference=*a:1'), ['beta:1', 'alpha:1'], '* matches within a path part')
  t.same(names('--filter', 'reference=*'), ['beta:1', 'alpha:1'], '* does not cross "/"')
  t.same(names('--filter', 'reference=alpha', '--filter', 'reference=beta'), ['beta:1', 'alpha:1'], 'one key: any may match')
})

t.test('dangling, label, before and since', async (t) => {
  const ids = (...f: string[]): string[] => s.ok(['images', '-q', ...f.flatMap((x) => ['--filter', x])]).trim().split('\n').filter(Boolean)
  t.same(ids('dangling=true'), [short(dangling)])
  t.same(ids('dangling=false'), [short(beta), short(alpha)])
  t.same(ids('label=tier'), [short(beta), short(alpha)])
  t.same(ids('label=tier=app'), [short(beta)])
  t.same(ids('label=tier', 'label=team=x'), [short(beta)], 'labels: all must match')
  t.same(ids('label=nosuch'), [])
  t.same(ids('before=beta:1'), [short(alpha)])
  t.same(ids('since=alpha:1'), [short(dangling), short(beta)])
  t.same(ids('since=alpha:1', 'dangling=false'), [short(beta)], 'different keys: all must match')
})

t.test('--format: json with docker\'s keys, table, templates', async (t) => {
  const json = s.ok(['images', '--format', 'json', 'alpha']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
  t.equal(json.length, 1, 'one object per line')
  t.same(Object.keys(json[0]).sort(), ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize'])
  t.match(json[0], { Repository: 'alpha', Tag: '1', ID: short(alpha), Digest: '<none>', Containers: '0' })
  t.match(json[0].CreatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/, 'CreatedAt as Go prints a time')
  const timeless = (out: string): unknown => ({ ...JSON.parse(out) as object, CreatedSince: undefined })
  t.same(timeless(s.ok(['images', '--format', '{{json .}}', 'alpha'])), timeless(s.ok(['images', '--format', 'json', 'alpha'])), 'json is {{json .}}')
  t.equal(s.ok(['images', '--format', 'table {{.Repository}}\\t{{.ID}}', 'alpha']), `REPOSITORY   IMAGE ID\nalpha        ${short(alpha)}\n`)
  t.equal(s.ok(['images', '--format', '{{.ID}}: {{upper .Repository}}', 'alpha']), `${short(alpha)}: ALPHA\n`)
  t.equal(s.ok(['images', '--format', '{{if eq .Tag "1"}}one{{else}}other{{end}}', 'beta']), 'one\n')
})

t.test('-a: also the intermediate images a build keeps in its cache', async (t) => {
  const b = cliStore(t)
  b.ok(['image', 'import', rootfs(b.dir, 'r1', 'one'), 'base:1'])
  const ctx = rootfs(b.dir, 'ctx', '')
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM base:1\nLABEL step=1\nLABEL step=2\n')
  const built = b.ok(['build', '-q', '-t', 'built:1', ctx]).trim()
  const plain = b.ok(['images', '-q', '--no-trunc']).trim().split('\n')
  t.same(plain.sort(), [built, id2(b, 'base:1')].sort(), 'without -a: the named images')
  const all = b.ok(['images', '-a', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--no-trunc']).trim().split('\n')
  const extra = all.filter((l) => !plain.some((p) => l.endsWith(p)))
  t.equal(extra.length, 1, 'with -a: the image after LABEL step=1 too')
  t.match(extra[0], /^<none>:<none> sha256:/)
  t.match(b.ok(['system', 'df']), /^Build Cache\s+1\s/m, 'system df counts it as build cache')
})

function id2 (b: ReturnType<typeof cliStore>, ref: string): string {
  return (JSON.parse(b.ok(['image', 'inspect', ref])) as Array<{ Id: string }>)[0].Id
}

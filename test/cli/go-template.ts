// The --format template engine against Go's own text/template: podman is a
// Go program whose --format runs text/template with docker's functions
// (json, join, lower, upper, split, title), so `podman version --format T`
// is the oracle for each template T over the same data (podman's version
// object, read back with {{json .}}). Then docker's table and json forms,
// and the errors a bad template gives before anything runs.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { execute, parseTemplate } from '../../src/cli/go-template.js'
import { formatRows } from '../../src/cli/format.js'

function podman (format: string): { out: string, ok: boolean } {
  const r = spawnSync('podman', ['version', '--format', format], { encoding: 'utf8', timeout: 60000 })
  return { out: r.stdout.replace(/\n$/, ''), ok: r.status === 0 }
}

t.test('each template prints what Go prints (podman version --format is the oracle)', async (t) => {
  const data = JSON.parse(podman('{{json .}}').out) as { Client: Record<string, unknown> }
  t.ok(data.Client?.Version, 'podman printed its version object')
  const templates = [
    '{{.Client.Version}}',
    '{{.Client.Os}}/{{.Client.OsArch}}',
    '{{json .Client}}',
    '{{json .Client.Version}}',
    '{{split .Client.Version "."}}',
    '{{join (split .Client.Version ".") ", "}}',
    '{{range split .Client.Version "."}}<{{.}}>{{end}}',
    '{{range split .Client.GitCommit "x"}}[{{.}}]{{else}}empty{{end}}',
    '{{if eq .Client.Os "linux"}}linux{{else if eq .Client.Os "darwin"}}mac{{else}}other{{end}}',
    '{{if .Client.GitCommit}}has{{else}}none{{end}}',
    '{{if not .Client.Built}}zero{{end}}',
    '{{with .Client}}{{.Os}}{{end}}',
    '{{with .Client.GitCommit}}x{{else}}no commit{{end}}',
    '{{upper .Client.Os}} {{lower "ABC"}} {{title "hello world"}}',
    '{{printf "%-10s|%5s|%q" .Client.Os .Client.Os .Client.Version}}',
    '{{printf "%d-%05d" 42 7}} {{printf "%x" 255}} {{printf "%v" .Client.Built}}',
    '{{printf "%s=%s" "a" "b" | printf "<%s>"}}',
    '{{.Client.Version | printf "%s!"}}',
    '{{index (split .Client.Version ".") 0}}',
    '{{len .Client.Version}} {{len (split .Client.Version ".")}}',
    '{{print "a" 1 "b"}} {{println "x" "y"}}',
    'a  {{- " b " -}}  c',
    '{{/* a comment */}}kept',
    '{{and .Client.Os .Client.Version}} {{or .Client.GitCommit "fallback"}}',
    '{{ne .Client.Os "x"}} {{eq .Client.Built 0}} {{lt 1 2}} {{ge 2 3}}',
    '{{$.Client.Os}}',
    '{{`raw "quoted"`}}',
    'tab\there',
  ]
  for (const tpl of templates) {
    const want = podman(tpl)
    t.ok(want.ok, `podman ran ${tpl}`)
    t.equal(execute(parseTemplate(tpl), data), want.out, tpl)
  }
})

t.test('docker\'s table and json forms', async (t) => {
  const rows = [{ Repository: 'hello', Tag: '1', ID: 'e2d71318cf8d', Size: '4.61kB' }, { Repository: 'a-much-longer-name', Tag: 'latest', ID: '0123456789ab', Size: '1MB' }]
  const spec = { table: 'table {{.Repository}}\t{{.Tag}}', headers: { ID: 'IMAGE ID' } }
  // docker's tabwriter: a cell is padded by 3, to at least 10.
  t.equal(formatRows(rows, undefined, spec), 'REPOSITORY           TAG\nhello                1\na-much-longer-name   latest\n')
  t.equal(formatRows(rows, 'table {{.ID}}\\t{{.Size}}', spec), 'IMAGE ID       SIZE\ne2d71318cf8d   4.61kB\n0123456789ab   1MB\n', 'a literal \\t is a tab, headers by field')
  t.equal(formatRows(rows, '{{.Repository}}:{{.Tag}}', spec), 'hello:1\na-much-longer-name:latest\n', 'a template without table: no header')
  const json = formatRows(rows, 'json', spec).split('\n').filter(Boolean).map((l) => JSON.parse(l))
  t.same(json, rows, 'json: one object per line')
  t.equal(formatRows([], undefined, spec), 'REPOSITORY   TAG\n', 'no rows: the header alone, as docker')
})

t.test('a bad template fails when parsed, naming the fault', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['{{.Repository', /unclosed action/],
    ['{{if .X}}no end', /no \{\{end\}\}/],
    ['{{end}}', /unexpected \{\{end\}\}/],
    ['{{nosuch .X}}', /function "nosuch" not defined/],
    ['{{"unterminated}}', /unterminated quoted string/],
    ['{{.X | }}', /missing value/],
  ]
  for (const [tpl, msg] of bad) t.throws(() => parseTemplate(tpl), { code: 'EINVAL', message: msg }, tpl)
  t.throws(() => execute(parseTemplate('{{.Nosuch}}'), { A: 1 }), { message: /can't evaluate field Nosuch/ }, 'a missing field of the top object is an error')
  t.equal(execute(parseTemplate('{{.Labels.k}}|{{index .Labels "k"}}'), { Labels: {} }), '<no value>|<no value>', 'a missing map key is <no value>')
})

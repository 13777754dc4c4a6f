// A command line that does not parse changes nothing: every command and
// subcommand (found from --help, so a new one is covered without editing
// this file) run with a bogus flag, or a bad value, stops with docker's
// message ("unknown flag: --bogus-flag" / "See 'strata image rm --help'."),
// status 125, no stack trace, and the store byte-for-byte as it was.
// Regressions: on 852b667 `image rm --no-prune NAME` untagged the image and
// `image ls -a` printed the table and exited 2.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { cliStore, rootfs, snapshot } from '../fixtures/cli-store.js'

const s = cliStore(t)
s.ok(['image', 'import', rootfs(s.dir, 'r1', 'one'), 'hello:victim'])
s.ok(['image', 'tag', 'hello:victim', 'hello:2'])
s.ok(['container', 'create', '--name', 'web', 'hello:victim'])
const ctx = path.join(s.dir, 'ctx')
fs.mkdirSync(ctx)
fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM hello:victim\nLABEL x=y\n')
const before = snapshot(s.root)

const VALUES: Record<string, string> = {
  image: 'hello:victim',
  container: 'web',
  name: 'hello:victim',
  source: 'hello:victim',
  target: 'hello:new',
  context: ctx,
  server: 'localhost:5000',
  what: 'web',
  mountpoint: path.join(s.dir, 'm'),
  command: 'true',
}

/**
 * Every command (`image rm`, `run`, `images` …) with its usage line, from the
 * help listings (bench passes its arguments on to scripts/bench).
 */
function commands (): Array<{ cmd: string, usage: string }> {
  const lines = (help: string, prefix: string): string[] =>
    [...help.matchAll(new RegExp(`^  (strata ${prefix}\\S+.*?)(?:  |$)`, 'gm'))].map((m) => m[1].trim())
  const out: Array<{ cmd: string, usage: string }> = []
  for (const line of lines(s.ok(['--help']), '')) {
    const w = line.split(' ')[1]
    if (w === 'bench') continue
    if (line.includes('<command>')) {
      for (const sub of lines(s.ok([w, '--help']), `${w} `)) out.push({ cmd: sub.split(' ').slice(1, 3).join(' '), usage: sub })
    } else if (line === `strata ${w}` && /^strata \S+ \S+/.test(s.ok([w, '--help']).split('\n')[0])) {
      // A docker verb: its help is the one of the command it runs.
      out.push({ cmd: w, usage: s.ok([w, '--help']).split('\n')[0] })
    } else out.push({ cmd: w, usage: line })
  }
  return out
}

/** The required positionals of a usage line, filled with real names. */
const positionals = (usage: string): string[] => [...usage.matchAll(/<([^>.]+)(\.\.)?>/g)].map((m) => VALUES[m[1]] ?? 'x')

t.test('every command refuses a bogus flag before it does anything', async (t) => {
  const all = commands()
  const paths = all.map((c) => c.cmd)
  t.ok(paths.length > 35, `found ${paths.length} commands`)
  for (const need of ['image rm', 'image ls', 'rmi', 'images', 'system df', 'system prune', 'container rm', 'run', 'build', 'inspect']) {
    t.ok(paths.includes(need), `${need} is listed`)
  }
  for (const { cmd, usage } of all) {
    const r = s.run([...cmd.split(' '), '--bogus-flag', ...positionals(usage)])
    t.equal(r.status, 125, `${cmd}: status 125`)
    t.match(r.stderr, /^strata: unknown flag: --bogus-flag\nSee 'strata [^']+ --help'\.\n$/, `${cmd}: docker's message`)
    t.same(snapshot(s.root), before, `${cmd}: the store is unchanged`)
  }
})

t.test('every command\'s help has examples', async (t) => {
  for (const { cmd } of commands()) {
    const r = s.run([...cmd.split(' '), '--help'])
    t.equal(r.status, 0, `${cmd} --help`)
    t.match(r.stdout, /\nExamples:\n {2}[^\n]*\bstrata /, `${cmd}: examples`)
  }
})

t.test('the command named in "See …" is the one that was run', async (t) => {
  t.match(s.run(['image', 'rm', '--no-prune', 'hello:victim']).stderr, "unknown flag: --no-prune\nSee 'strata image rm --help'.")
  t.match(s.run(['rmi', '--no-prune', 'hello:victim']).stderr, "See 'strata image rm --help'.", 'a verb names the command that does the work')
  t.match(s.run(['image', 'ls', '-x']).stderr, 'unknown flag: -x')
  t.match(s.run(['image', 'ls', '--bogus=1']).stderr, 'unknown flag: --bogus')
  t.same(s.ok(['image', 'ls', '--format', '{{.Tag}}']).split('\n').sort(), ['', '2', 'victim'], 'image rm --no-prune untagged nothing')
})

t.test('bad values and missing arguments stop too', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['image', 'rm'], 125, /"strata image rm" requires at least 1 argument\nSee 'strata image rm --help'/],
    [['image', 'tag', 'hello:victim'], 125, /requires at least 2 arguments/],
    [['image', 'ls', 'a', 'b'], 125, /"strata image ls" got an unexpected argument: b/],
    [['image', 'save', '--format', 'zip', 'hello:victim'], 125, /invalid argument "zip" for "--format" flag/],
    [['inspect', '--type', 'volume', 'hello:victim'], 125, /invalid argument "volume" for "--type" flag/],
    [['imagez'], 125, /'imagez' is not a strata command \(did you mean image/],
    [['image', 'lss'], 125, /'lss' is not a strata image command/],
    [['image', 'ls', '--filter', 'nosuch=1'], 1, /invalid filter 'nosuch'/],
    [['image', 'ls', '--filter', 'dangling'], 1, /bad format of filter "dangling"/],
    [['image', 'ls', '--format', '{{.Repository'], 1, /template parsing error: unclosed action/],
    [['image', 'inspect', '--format', '{{if .Id}}', 'hello:victim'], 1, /no \{\{end\}\}/],
    [['build', '--pull', '-t', 'x:1', ctx], 125, /unknown flag: --pull/],
  ]
  for (const [args, status, msg] of cases) {
    const r = s.run(args)
    t.equal(r.status, status, `${args.join(' ')}: status ${status}`)
    t.match(r.stderr, msg, args.join(' '))
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
    t.equal(r.stdout, '', 'nothing printed')
    t.same(snapshot(s.root), before, `${args.join(' ')}: the store is unchanged`)
  }
  t.equal(s.run(['image', 'ls', '-a']).status, 0, 'image ls -a is a flag now')
})

// docker's top-level verbs run the command that does the work (on 852b667
// `strata rmi X` fell into the mount helper: "no lowerdir given", and
// `strata save -o x.tar X` read x.tar as an image name); version and info;
// completion scripts from yargs; and a reader that goes away (`| head`)
// ends strata quietly, not with an EPIPE stack trace.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { cliStore, rootfs, strataBin } from '../fixtures/cli-store.js'

const s = cliStore(t)
s.ok(['import', rootfs(s.dir, 'r1', 'one'), 'hello:1'])

t.test('image verbs', async (t) => {
  t.match(s.ok(['images']), /^hello\s+1\s/m, 'import and images')
  s.ok(['tag', 'hello:1', 'hello:2'])
  t.match(s.ok(['history', 'hello:1']), /^IMAGE\s+CREATED\s+CREATED BY/)
  const inspected = JSON.parse(s.ok(['inspect', 'hello:1'])) as Array<{ RepoTags: string[] }>
  t.same(inspected[0].RepoTags.sort(), ['hello:1', 'hello:2'], 'inspect finds an image')
  const tar = path.join(s.dir, 'x.tar')
  s.ok(['save', '-o', tar, 'hello:1'])
  t.ok(fs.statSync(tar).size > 1024, 'save -o wrote an archive')
  t.equal(s.ok(['rmi', 'hello:1']), 'Untagged: hello:1\n', 'rmi untags')
  t.equal(s.ok(['rmi', 'hello:2']).split('\n')[0], 'Untagged: hello:2')
  t.equal(s.ok(['images', '-q']), '', 'the last name took the image')
  t.match(s.ok(['load', '-i', tar]), 'Loaded image: hello:1')
  t.match(s.ok(['images']), /^hello\s+1\s/m, 'loaded back')
})

t.test('container verbs', async (t) => {
  const cid = s.ok(['create', '--name', 'web', 'hello:1']).trim()
  t.match(s.ok(['ps']), /^CONTAINER ID/, 'ps lists containers')
  t.equal(s.ok(['ps', '-q']), '', 'ps lists running ones, as docker\'s')
  t.match(s.ok(['ps', '-a', '-q']), cid.slice(0, 12), 'ps -a also the created one')
  const c = JSON.parse(s.ok(['inspect', 'web'])) as Array<{ Id: string }>
  t.equal(c[0].Id, cid, 'inspect finds a container first')
  t.equal((JSON.parse(s.ok(['inspect', '--type', 'image', 'hello:1'])) as unknown[]).length, 1, '--type image')
  t.equal(s.run(['inspect', '--type', 'container', 'hello:1']).status, 1, '--type container: an image is not one')
  t.equal(s.ok(['diff', 'web']), '', 'diff: no changes')
  t.equal(s.ok(['rm', 'web']), 'web\n', 'rm removes a container')
  t.equal(s.ok(['ps', '-a', '-q']), '')
})

t.test('version and info', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
  t.equal(s.ok(['--version']), pkg.version + '\n')
  t.match(s.ok(['version']), new RegExp(`^Client:\\n Version:\\s+${pkg.version.replace(/\./g, '\\.')}\\n`))
  t.equal(s.ok(['version', '--format', '{{.Client.Version}}']), pkg.version + '\n')
  t.match(s.ok(['info']), `Root Dir: ${s.root}`)
  t.equal(s.ok(['info', '--format', '{{.Images}} {{.Containers}}']), '1 0\n')
})

t.test('completion', async (t) => {
  const bash = s.ok(['completion', 'bash'])
  t.match(bash, /complete -o bashdefault -o default -F _strata_yargs_completions strata/)
  t.match(bash, /strata --get-yargs-completions/)
  const zsh = s.ok(['completion', 'zsh'])
  t.match(zsh, /^#compdef strata/)
  t.match(zsh, /compdef _strata_yargs_completions strata/)
  const words = (...w: string[]): string[] => s.ok(['--get-yargs-completions', 'strata', ...w], '').split('\n')
  t.ok(words('').includes('image') && words('').includes('images') && words('').includes('rmi'), 'commands and verbs')
  const image = words('image', '')
  t.ok(['ls', 'rm', 'prune', 'history'].every((w) => image.includes(w)), 'image subcommands')
  t.ok(words('image', 'ls', '--').includes('--filter'), 'flags of image ls')
  t.equal(s.run(['completion', 'fish']).status, 125, 'an unsupported shell is a usage error')
})

t.test('a reader that goes away ends strata quietly', async (t) => {
  // The read end is closed before strata writes: its first write fails with EPIPE.
  const child = spawn(strataBin, ['image', 'ls'], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  t.equal(stderr, '', 'no message, no stack trace')
  t.equal(code, 141, 'the status of a death by SIGPIPE')
})

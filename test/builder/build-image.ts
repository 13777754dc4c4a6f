// strata image build end to end, through the CLI, with real FUSE mounts and
// real containers: the seed's FROM scratch hello image, RUN on busybox,
// every config instruction landing in the config and docker-style history,
// the step cache (hits, a changed line, changed file content, --no-cache,
// GC and prune), the build context (.dockerignore, globs, directories, ADD of
// a tar), and failures that stop the build and leave nothing behind.
import t from 'tap'
import fs from 'node:fs'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { buildEnv } from '../fixtures/build-env.js'

const setup = buildEnv

const steps = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('Step ') || l.startsWith(' ---> '))

t.test('the seed example: a static hello binary FROM scratch', async (t) => {
  const { dir, ok, inspect, write } = setup(t)
  fs.writeFileSync(`${dir}/hello.c`, '#include <unistd.h>\nint main(void) { write(1, "Hello from a static binary!\\n", 28); return 0; }\n')
  execFileSync('gcc', ['-static', '-O2', '-o', `${dir}/ctx/hello`, `${dir}/hello.c`])
  write({ Dockerfile: 'FROM scratch\nADD hello /\nCMD ["/hello"]\n' })
  const out = ok('image', 'build', '-t', 'hello:1', '-f', `${dir}/ctx/Dockerfile`, `${dir}/ctx`)
  const id = inspect('hello:1').Id as string
  const shortId = id.slice(7, 19)
  const lines = out.split('\n')
  t.equal(lines[0], 'Step 1/3 : FROM scratch')
  t.equal(lines[1], ' ---> ')
  t.equal(lines[2], 'Step 2/3 : ADD hello /')
  t.match(lines[3], /^ ---> [0-9a-f]{12}$/)
  t.equal(lines[4], 'Step 3/3 : CMD ["/hello"]')
  t.equal(lines[5], ` ---> ${shortId}`)
  t.equal(lines.slice(6).join('\n'), `Successfully built ${shortId}\nSuccessfully tagged hello:1\n`)
  t.equal(ok('run', '--rm', 'hello:1'), 'Hello from a static binary!\n', 'strata run of the image prints the greeting')

  const img = inspect('hello:1')
  const binary = fs.statSync(`${dir}/ctx/hello`).size
  t.ok(img.Size >= binary && img.Size <= binary + 4096, `image size ${img.Size} is the binary's ${binary} plus tar headers`)
  t.equal(img.RootFS.diff_ids.length, 1, 'one layer')
  t.same(img.Config.Cmd, ['/hello'])
  t.equal(img.Architecture, 'amd64')
  t.equal(img.Os, 'linux')
  const sha = crypto.createHash('sha256').update(fs.readFileSync(`${dir}/ctx/hello`)).digest('hex')
  t.same(img.History.map((h: { created_by: string, empty_layer?: boolean }) => [h.created_by, !!h.empty_layer]), [
    [`/bin/sh -c #(nop) ADD file:${sha} in / `, false],
    ['/bin/sh -c #(nop)  CMD ["/hello"]', true],
  ], "history reads like docker's")

  const again = ok('image', 'build', '-t', 'hello:1', `${dir}/ctx`)
  t.equal(again.match(/ ---> Using cache\n/g)?.length, 2, 'a second build uses the cache for both steps')
  t.match(again, `Successfully built ${shortId}\n`, 'and gives the same image')
})

t.test('RUN on a FROM scratch image (no layers under the container)', async (t) => {
  const { dir, ok, write } = setup(t)
  fs.copyFileSync('/bin/busybox', `${dir}/ctx/busybox`)
  write({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /made && echo yes > /made/here"]\n' })
  const out = ok('build', '-t', 'made:1', `${dir}/ctx`)
  t.match(out, /Step 3\/3 : RUN \["\/bin\/busybox"[^\n]*\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/)
  t.equal(ok('run', '--rm', 'made:1', '/bin/busybox', 'cat', '/made/here'), 'yes\n')
})

t.test('RUN on busybox and every config instruction', async (t) => {
  const { dir, ok, inspect, write } = setup(t)
  write({
    'greet.txt': 'greetings\n',
    Dockerfile: [
      'FROM busy:1',
      'ARG GREETING=hello',
      'ENV APP=/srv/app \\',
      '    NAME="strata build"',
      'LABEL org.example.name="$NAME" version=1',
      'WORKDIR $APP',
      'COPY --chown=app greet.txt ./',
      '# a comment between steps',
      'RUN echo "$GREETING from $(pwd) as $(id -u), $NAME" > out.txt && cat out.txt',
      'RUN true',
      'USER app',
      'EXPOSE 8080 53/udp',
      'VOLUME ["/data"]',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["cat /srv/app/out.txt; id -un; cat greet.txt"]',
      'MAINTAINER Jane <j@x>',
      '',
    ].join('\n'),
  })
  const out = ok('image', 'build', '--build-arg', 'GREETING=hi', '-t', 'app:1', '-t', 'app:latest', `${dir}/ctx`)
  t.match(out, /\nhi from \/srv\/app as 0, strata build\n/, "RUN output streams into the build's")
  t.match(out, /Successfully tagged app:1\nSuccessfully tagged app:latest\n$/)
  const img = inspect('app:1')
  const c = img.Config
  t.same(c.Env, ['APP=/srv/app', 'NAME=strata build'])
  t.same(c.Labels, { 'org.example.name': 'strata build', version: '1' })
  t.equal(c.WorkingDir, '/srv/app')
  t.equal(c.User, 'app')
  t.same(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} })
  t.same(c.Volumes, { '/data': {} })
  t.same(c.Entrypoint, ['/bin/sh', '-c'])
  t.same(c.Cmd, ['cat /srv/app/out.txt; id -un; cat greet.txt'])
  t.equal(img.Author, 'Jane <j@x>')
  const sha = crypto.createHash('sha256').update('greetings\n').digest('hex')
  const history = img.History.slice(1).map((h: { created_by: string, empty_layer?: boolean }) => [h.created_by, !!h.empty_layer])
  t.same(history, [
    ['/bin/sh -c #(nop)  ARG GREETING=hello', true],
    ['/bin/sh -c #(nop)  ENV APP=/srv/app NAME=strata build', true],
    ['/bin/sh -c #(nop)  LABEL org.example.name="strata build" version=1', true],
    ['/bin/sh -c #(nop) WORKDIR /srv/app', true],
    [`/bin/sh -c #(nop) COPY file:${sha} in ./ `, false],
    ['|1 GREETING=hi /bin/sh -c echo "$GREETING from $(pwd) as $(id -u), $NAME" > out.txt && cat out.txt', false],
    ['|1 GREETING=hi /bin/sh -c true', true],
    ['/bin/sh -c #(nop)  USER app', true],
    ['/bin/sh -c #(nop)  EXPOSE 8080/tcp 53/udp', true],
    ['/bin/sh -c #(nop)  VOLUME ["/data"]', true],
    ['/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]', true],
    ['/bin/sh -c #(nop)  CMD ["cat /srv/app/out.txt; id -un; cat greet.txt"]', true],
    ['/bin/sh -c #(nop)  MAINTAINER Jane <j@x>', true],
  ], 'docker-style history; a RUN that changes nothing adds no layer')
  t.equal(img.RootFS.diff_ids.length, 3, 'base + COPY + one RUN layer')
  t.equal(ok('run', '--rm', 'app:1'), 'hi from /srv/app as 0, strata build\napp\ngreetings\n', 'the built image runs with its Entrypoint, Cmd, User and WorkingDir')
  t.equal(ok('run', '--rm', '--entrypoint', '', 'app:1', 'stat', '-c', '%u:%g %a', '/srv/app/greet.txt'), '1000:1000 644\n', '--chown by name, from the image\'s /etc/passwd')
  t.notMatch(ok('image', 'ls'), /<none>/, 'intermediate images are not listed')
})

t.test('the cache: hits, a changed line, changed content, --no-cache, GC and prune', async (t) => {
  const { dir, ok, run, write, inspect } = setup(t)
  const dockerfile = (runLine: string): string => `FROM busy:1\nENV A=1\nCOPY f.txt /f.txt\n${runLine}\nCMD ["cat", "/f.txt"]\n`
  write({ 'f.txt': 'one\n', Dockerfile: dockerfile('RUN echo ran > /ran') })
  const first = ok('build', '-t', 'c:1', `${dir}/ctx`)
  t.notMatch(first, /Using cache/)
  const id = inspect('c:1').Id.slice(7, 19)

  const second = ok('build', '-t', 'c:1', `${dir}/ctx`)
  t.equal(second.match(/ ---> Using cache\n/g)?.length, 4, 'every step after FROM is cached')
  t.notMatch(second, /Running in/, 'no RUN ran')
  t.match(second, `Successfully built ${id}\n`)

  write({ Dockerfile: dockerfile('RUN echo changed > /ran') })
  let out = steps(ok('build', '-t', 'c:2', `${dir}/ctx`))
  t.same(out.filter((l) => l === ' ---> Using cache'), [' ---> Using cache', ' ---> Using cache'], 'ENV and COPY cached')
  t.match(out[out.indexOf('Step 4/5 : RUN echo changed > /ran') + 1], /^ ---> Running in [0-9a-f]{12}$/, 'the changed line runs')
  t.notSame(out[out.indexOf('Step 5/5 : CMD ["cat", "/f.txt"]') + 1], ' ---> Using cache', 'and so does every step after it')

  write({ 'f.txt': 'two\n' })
  out = steps(ok('build', '-t', 'c:3', `${dir}/ctx`))
  t.equal(out[out.indexOf('Step 2/5 : ENV A=1') + 1], ' ---> Using cache')
  t.equal(out[out.indexOf('Step 3/5 : COPY f.txt /f.txt') + 1].includes('Using cache'), false, 'new content of a copied file misses the cache')
  t.equal(ok('run', '--rm', 'c:3'), 'two\n')

  const noCache = ok('build', '--no-cache', '-t', 'c:4', `${dir}/ctx`)
  t.notMatch(noCache, /Using cache/, '--no-cache runs every step')
  t.not(inspect('c:4').Id, inspect('c:3').Id)

  // Collecting garbage (rm of another image) keeps the cache's images.
  ok('image', 'tag', 'busy:1', 'other:1')
  ok('image', 'rm', 'other:1')
  ok('image', 'rm', 'c:1')
  t.equal(ok('build', '-t', 'c:1', `${dir}/ctx`).match(/Using cache/g)?.length, 4, 'the cache survives garbage collection')
  // Prune clears the build cache; the next build just runs again.
  t.equal(run('image', 'prune').status, 0)
  const after = ok('build', '-t', 'c:5', `${dir}/ctx`)
  t.notMatch(after, /Using cache/, 'after prune nothing is cached')
  t.equal(ok('run', '--rm', 'c:5'), 'two\n')
  t.equal(ok('system', 'check').includes('problem'), false, 'the store is consistent')
})

t.test('the build context: .dockerignore, directories, globs, ADD of a tar', async (t) => {
  const { dir, ok, write } = setup(t)
  write({
    'a.txt': 'a',
    'b.log': 'b',
    'keep.log': 'k',
    'sub/c.txt': 'c',
    'sub/skip.tmp': 's',
    'sub/deep/d.txt': 'd',
    '.dockerignore': '# logs, but one\n*.log\n!keep.log\n**/*.tmp\n',
    Dockerfile: 'FROM busy:1\nCOPY . /ctx/\nADD arch.tar.gz /unpacked/\nADD plain.tar /plain\nCOPY *.txt sub/*.txt /glob/\nCOPY sub /subdir\nWORKDIR /w\nCOPY a.txt .\nCOPY a.txt renamed\n',
  })
  fs.mkdirSync(`${dir}/tarsrc/x`, { recursive: true })
  fs.writeFileSync(`${dir}/tarsrc/x/y.txt`, 'y')
  execFileSync('tar', ['-C', `${dir}/tarsrc`, '-czf', `${dir}/ctx/arch.tar.gz`, 'x'])
  execFileSync('tar', ['-C', `${dir}/tarsrc`, '-cf', `${dir}/ctx/plain.tar`, 'x'])
  ok('build', '-t', 'ctx:1', `${dir}/ctx`)
  const found = ok('run', '--rm', 'ctx:1', 'sh', '-c', 'find /ctx /unpacked /plain /glob /subdir /w | sort').trim().split('\n')
  t.same(found, [
    '/ctx', '/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/a.txt', '/ctx/arch.tar.gz', '/ctx/keep.log', '/ctx/plain.tar',
    '/ctx/sub', '/ctx/sub/c.txt', '/ctx/sub/deep', '/ctx/sub/deep/d.txt',
    '/glob', '/glob/a.txt', '/glob/c.txt',
    '/plain', '/plain/x', '/plain/x/y.txt',
    '/subdir', '/subdir/c.txt', '/subdir/deep', '/subdir/deep/d.txt',
    '/unpacked', '/unpacked/x', '/unpacked/x/y.txt',
    '/w', '/w/a.txt', '/w/renamed',
  ], '.dockerignore excludes (with an exception), a dir copies its contents, ADD unpacks tars, relative dests are under WORKDIR')
  t.equal(ok('run', '--rm', 'ctx:1', 'cat', '/unpacked/x/y.txt'), 'y')
})

t.test('a failing RUN stops the build with its status and leaves nothing behind', async (t) => {
  const { dir, run, write, leftovers } = setup(t)
  write({ Dockerfile: 'FROM busy:1\nENV X=1\nRUN echo before; echo oops >&2; exit 3\nCMD ["true"]\n' })
  const r = run('build', '-t', 'bad:1', `${dir}/ctx`)
  t.equal(r.status, 3, "the build's exit status is the command's")
  t.match(r.stdout, /Step 3\/4 : RUN echo before; echo oops >&2; exit 3\n ---> Running in [0-9a-f]{12}\nbefore\n/)
  t.notMatch(r.stdout, /Step 4\/4/, 'no step after it runs')
  t.match(r.stderr, /oops\n/)
  t.match(r.stderr, "The command '/bin/sh -c echo before; echo oops >&2; exit 3' returned a non-zero code: 3\n")
  t.same(leftovers(), { mounts: [], containers: '', runDirs: [] }, 'no mount, no container, no run dir')
  t.match(run('image', 'inspect', 'bad:1').stderr, /No such object: bad:1/, 'nothing tagged')
  const q = run('build', '-q', `${dir}/ctx`)
  t.equal(q.status, 3)
  t.equal(q.stdout, '', '-q prints no steps')
  t.match(q.stderr, /oops\n[\s\S]*returned a non-zero code: 3/, "but a failing RUN's output is shown")
})

t.test('bad Dockerfiles get an error naming the line and change nothing', async (t) => {
  const { dir, run, write, leftovers, ok } = setup(t)
  write({ 'a.txt': 'a', 'Dockerfile.ok': 'FROM busy:1\n' })
  const snap = (): string => execFileSync('sh', ['-c', `cd ${dir}/store && find . -path ./lock -prune -o -print | sort && cat oci/index.json`], { encoding: 'utf8' })
  const before = snap()
  const cases: Array<[string, RegExp]> = [
    ['FROM busy:1\nFOO bar\n', /Dockerfile:2: unknown instruction: FOO/],
    ['# no FROM\nRUN true\n', /Dockerfile:2: the first instruction \(after ARGs\) must be FROM/],
    ['FROM nosuch:1\n', /Dockerfile:1: .*no image nosuch:1 in the store/],
    ['FROM busy:1\nCOPY missing.txt /\n', /Dockerfile:2: .*file not found in build context or excluded by \.dockerignore: missing\.txt/],
    ['FROM busy:1\nCOPY ../secret /\n', /Dockerfile:2: .*\.\.\/secret: forbidden path outside the build context/],
    ['FROM busy:1\nCOPY a.txt a.txt /dir\n', /Dockerfile:2: .*destination must be a directory and end with a \//],
    ['FROM busy:1\nCMD ["/hello"\n', /Dockerfile:2: malformed JSON array/],
    ['FROM busy:1\nADD https://example.com/x.tar /\n', /Dockerfile:2: .*URL sources are not supported/],
    ['FROM busy:1\nCOPY --from=base a.txt /\n', /Dockerfile:2: .*no image base:latest in the store/],
    ['', /no instructions/],
  ]
  for (const [text, msg] of cases) {
    fs.writeFileSync(`${dir}/ctx/Dockerfile`, text)
    const r = run('image', 'build', '-t', 'x:1', `${dir}/ctx`)
    t.not(r.status, 0, `fails: ${JSON.stringify(text)}`)
    t.match(r.stderr, msg)
  }
  t.match(run('build', '-f', `${dir}/ctx/nope`, `${dir}/ctx`).stderr, /cannot read the Dockerfile .*nope/)
  t.equal(snap(), before, 'the store is as it was')
  t.same(leftovers(), { mounts: [], containers: '', runDirs: [] })
  t.match(ok('build', '-q', '-f', `${dir}/ctx/Dockerfile.ok`, `${dir}/ctx`), /^sha256:[0-9a-f]{64}\n$/, '-f names another Dockerfile; -q prints the ID')
})

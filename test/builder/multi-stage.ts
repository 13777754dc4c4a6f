// Multi-stage builds end to end, through the CLI, with real containers:
// a static binary made in one stage run from a FROM scratch stage, stages
// the target does not need skipped, --target, COPY --from a stage (by name
// and number) and an image, and the stage checks made before anything runs.
import t from 'tap'
import fs from 'node:fs'
import { execFileSync } from 'node:child_process'
import { buildEnv } from '../fixtures/build-env.js'

const HELLO_C = '#include <unistd.h>\nint main(void) { write(1, "Hello from a static binary!\\n", 28); return 0; }\n'

t.test('a builder stage binary runs FROM scratch; unused stages skipped', async (t) => {
  const { dir, ok, write, inspect, leftovers } = buildEnv(t)
  fs.writeFileSync(`${dir}/hello.c`, HELLO_C)
  execFileSync('gcc', ['-static', '-O2', '-o', `${dir}/ctx/hello`, `${dir}/hello.c`])
  write({
    Dockerfile: [
      'FROM busy:1 AS builder',
      'COPY hello /src/hello',
      'RUN mkdir /out && cp /src/hello /out/hello && echo made-in-builder > /out/msg && chown 1000:1000 /out/msg',
      'FROM busy:1 AS unused',
      'RUN echo this stage must not run; exit 7',
      'FROM scratch',
      'COPY --from=builder /out/ /app/',
      'COPY --from=0 /bin/busybox /bin/busybox',
      'CMD ["/app/hello"]',
      '',
    ].join('\n'),
  })
  const out = ok('build', '-t', 'hello:ms', `${dir}/ctx`)
  t.notMatch(out, /must not run/, 'a stage the target does not use is not built')
  t.match(out, /^Step 1\/7 : FROM busy:1 AS builder\n/)
  t.match(out, /Step 4\/7 : FROM scratch\n ---> \nStep 5\/7 : COPY --from=builder \/out\/ \/app\/\n/)
  t.match(out, /Step 7\/7 : CMD \["\/app\/hello"\]\n/)
  t.equal(ok('run', '--rm', 'hello:ms'), 'Hello from a static binary!\n', 'the binary built in the first stage runs')
  t.equal(ok('run', '--rm', 'hello:ms', '/bin/busybox', 'cat', '/app/msg'), 'made-in-builder\n', 'the file a RUN of the first stage made is in the last')
  t.equal(ok('run', '--rm', 'hello:ms', '/bin/busybox', 'stat', '-c', '%u:%g', '/app/msg', '/app/hello'), '1000:1000\n0:0\n', 'with its owner, as BuildKit keeps it')
  const img = inspect('hello:ms')
  t.equal(img.RootFS.diff_ids.length, 2, "the final image has only its own stage's layers")
  t.match(img.History.map((h: { created_by: string }) => h.created_by).join('\n'), /^\/bin\/sh -c #\(nop\) COPY --from=builder dir:[0-9a-f]{64} in \/app\/ \n/)
  t.same(ok('image', 'ls').trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(':')).sort(), ['busy:1', 'hello:ms'], 'only the target is tagged; no <none> stages')
  t.same(leftovers(), { mounts: [], containers: '', runDirs: [] })

  const again = ok('build', '-t', 'hello:ms', `${dir}/ctx`)
  t.equal(again.match(/ ---> Using cache\n/g)?.length, 5, 'a second build takes every step of both stages from the cache')
})

t.test('--target builds that stage and what it needs', async (t) => {
  const { dir, ok, run, write, inspect, snap } = buildEnv(t)
  write({
    Dockerfile: [
      'FROM busy:1 AS base',
      'RUN echo base > /base',
      'FROM base AS tools',
      'RUN cat /base > /tools && echo tools >> /tools',
      'FROM tools AS last',
      'RUN echo last-ran > /last',
      '',
    ].join('\n'),
  })
  const out = ok('build', '--target', 'TOOLS', '-t', 'tools:1', `${dir}/ctx`)
  t.notMatch(out, /last-ran|FROM tools AS last/, 'stages after the target are not run')
  t.match(out, /Step 3\/4 : FROM base AS tools\n ---> [0-9a-f]{12}\n/, 'FROM a stage starts from its result')
  t.equal(ok('run', '--rm', 'tools:1', 'cat', '/tools'), 'base\ntools\n')
  t.equal(run('run', '--rm', 'tools:1', 'test', '-e', '/last').status, 1, 'the later stage is not in the image')
  t.equal(inspect('tools:1').RootFS.diff_ids.length, 3)
  const before = snap()
  const r = run('build', '--target', 'nosuch', '-t', 'x:1', `${dir}/ctx`)
  t.not(r.status, 0)
  t.match(r.stderr, /--target nosuch: no stage of that name in Dockerfile \(stages: base, tools, last\)/)
  t.equal(r.stdout, '', 'no step ran')
  t.equal(snap(), before, 'the store is as it was')
})

t.test('COPY --from an image in the store', async (t) => {
  const { dir, ok, write } = buildEnv(t)
  write({ Dockerfile: 'FROM scratch\nCOPY --from=busy:1 /bin/busybox /etc/passwd /x/\nCMD ["/x/busybox", "cat", "/x/passwd"]\n' })
  ok('build', '-t', 'fromimg:1', `${dir}/ctx`)
  t.match(ok('run', '--rm', 'fromimg:1'), /^root:x:0:0:root/, "the image's files are copied")
  t.equal(ok('run', '--rm', 'fromimg:1', '/x/busybox', 'stat', '-c', '%a %u', '/x/busybox'), '755 0\n', 'with their mode')
})

t.test('stage errors are found before any step runs', async (t) => {
  const { dir, run, write, leftovers, snap } = buildEnv(t)
  write({ 'a.txt': 'a' })
  const before = snap()
  const first = 'FROM busy:1 AS one\nRUN echo stage-one-ran > /x\n'
  const cases: Array<[string, RegExp]> = [
    [first + 'FROM nosuch:1\nRUN true\n', /Dockerfile:3: .*no image nosuch:1 in the store/],
    [first + 'FROM scratch\nCOPY --from=nosuch /x /x\n', /Dockerfile:4: .*no image nosuch/],
    [first + 'FROM scratch\nCOPY --from=two /x /x\nFROM busy:1 AS two\n', /Dockerfile:4: stage "two" is not defined before this line/],
    [first + 'FROM busy:1 AS ONE\n', /Dockerfile:3: duplicate stage name "ONE"/],
    [first + 'FROM busy:1 AS 9x\n', /Dockerfile:3: invalid stage name "9x"/],
    [first + 'FROM busy:1\nRUN --mount=type=cache,target=/c true\n', /Dockerfile:4: RUN --mount is not supported/],
    [first + 'FROM busy:1\nADD --from=one /x /x\n', /Dockerfile:4: ADD: unknown option --from/],
    [first + 'FROM busy:1\nSHELL /bin/bash -c\n', /Dockerfile:4: SHELL requires the JSON form/],
    [first + 'FROM busy:1\nHEALTHCHECK --interval=often CMD true\n', /Dockerfile:4: .*--interval: invalid duration "often"/],
    [first + 'FROM busy:1\nONBUILD FROM busy:1\n', /Dockerfile:4: FROM isn't allowed as an ONBUILD trigger/],
    [first + 'FROM busy:1\nONBUILD COPY --bad=1 a /\n', /Dockerfile:4: COPY: unknown option --bad/],
    [first + 'FROM busy:1\nFROB x\n', /Dockerfile:4: unknown instruction: FROB/],
    [first + 'FROM busy:1\nENV $NAME\n', /Dockerfile:4: .*ENV needs NAME=VALUE/],
    [first + 'FROM busy:1\nCOPY a.txt\n', /Dockerfile:4: .*COPY requires at least two arguments/],
    [first + 'FROM busy:1\nEXPOSE 80/xyz\n', /Dockerfile:4: .*EXPOSE: invalid port "80\/xyz"/],
    [first + 'FROM busy:1\nWORKDIR ${X\n', /Dockerfile:4: .*missing "}"/],
    [first + 'FROM busy:1\nONBUILD ARG 1x\n', /Dockerfile:4: .*ARG: bad name "1x"/],
  ]
  for (const [text, msg] of cases) {
    fs.writeFileSync(`${dir}/ctx/Dockerfile`, text)
    const r = run('build', '-t', 'x:1', `${dir}/ctx`)
    t.not(r.status, 0, `fails: ${JSON.stringify(text)}`)
    t.match(r.stderr, msg)
    t.notMatch(r.stdout, /Running in|stage-one-ran/, 'the first stage did not run')
  }
  t.equal(snap(), before, 'the store is as it was')
  t.same(leftovers(), { mounts: [], containers: '', runDirs: [] })
})

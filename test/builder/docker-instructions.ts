// SHELL, HEALTHCHECK and ONBUILD end to end, compared with what docker
// writes into the image config (config.Shell, config.Healthcheck in
// nanoseconds, config.OnBuild as written) and how it runs them.
import t from 'tap'
import fs from 'node:fs'
import { buildEnv } from '../fixtures/build-env.js'

t.test('SHELL: RUN, CMD and ENTRYPOINT use it; inherited', async (t) => {
  const { dir, ok, write, inspect } = buildEnv(t)
  write({
    myshell: '#!/bin/sh\necho "myshell $*" >> /shell-log\nexec /bin/sh "$@"\n',
    Dockerfile: 'FROM busy:1\nCOPY myshell /bin/myshell\nSHELL ["/bin/myshell", "-c"]\nRUN echo hi\nCMD cat /shell-log\n',
  })
  fs.chmodSync(`${dir}/ctx/myshell`, 0o755)
  ok('build', '-t', 'sh:1', `${dir}/ctx`)
  const c = inspect('sh:1')
  t.same(c.Config.Shell, ['/bin/myshell', '-c'])
  t.same(c.Config.Cmd, ['/bin/myshell', '-c', 'cat /shell-log'], 'the shell form of CMD uses it')
  const hist = c.History.slice(1).map((h: { created_by: string }) => h.created_by)
  t.equal(hist[1], '/bin/sh -c #(nop)  SHELL [/bin/myshell -c]', "docker's history text (the shell before it)")
  t.equal(hist[2], '/bin/myshell -c echo hi', 'RUN ran through it')
  t.equal(hist[3], '/bin/myshell -c #(nop)  CMD ["/bin/myshell" "-c" "cat /shell-log"]')
  t.equal(ok('run', '--rm', 'sh:1'), 'myshell -c echo hi\nmyshell -c cat /shell-log\n', 'the RUN and the CMD both went through the shell')
  write({ Dockerfile: 'FROM sh:1\nRUN echo child\nENTRYPOINT cat /shell-log\n' })
  ok('build', '-t', 'sh:2', `${dir}/ctx`)
  t.same(inspect('sh:2').Config.Entrypoint, ['/bin/myshell', '-c', 'cat /shell-log'], 'a child image inherits the SHELL')
  t.match(ok('run', '--rm', 'sh:2'), /myshell -c echo child\n/)
})

t.test('HEALTHCHECK stored as docker does; NONE', async (t) => {
  const { dir, ok, write, inspect } = buildEnv(t)
  write({ Dockerfile: 'FROM busy:1\nHEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=5 CMD wget -q http://localhost/ || exit 1\n' })
  ok('build', '-t', 'hc:1', `${dir}/ctx`)
  const img = inspect('hc:1')
  // docker image inspect of the same line (docker 24): these names and values.
  t.same(img.Config.Healthcheck, { Test: ['CMD-SHELL', 'wget -q http://localhost/ || exit 1'], Interval: 300000000000, Timeout: 3000000000, StartPeriod: 90000000000, Retries: 5 })
  t.equal(img.History[img.History.length - 1].created_by, '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "wget -q http://localhost/ || exit 1"] "5m0s" "3s" "1m30s" "0s" \'\\x05\'}')
  write({ Dockerfile: 'FROM hc:1\nHEALTHCHECK NONE\n' })
  ok('build', '-t', 'hc:2', `${dir}/ctx`)
  t.same(inspect('hc:2').Config.Healthcheck, { Test: ['NONE'] })
})

t.test('ONBUILD stored; triggers run in a child build', async (t) => {
  const { dir, ok, write, inspect } = buildEnv(t)
  write({ Dockerfile: 'FROM busy:1\nONBUILD COPY trig.txt /trig.txt\nonbuild RUN echo triggered > /onbuild-ran\n', 'trig.txt': 'from the child context\n' })
  const out = ok('build', '-t', 'ob:1', `${dir}/ctx`)
  t.notMatch(out, /Executing/, 'the triggers do not run in the image that declares them')
  const base = inspect('ob:1')
  t.same(base.Config.OnBuild, ['COPY trig.txt /trig.txt', 'RUN echo triggered > /onbuild-ran'], 'as written after ONBUILD')
  t.equal(base.History[base.History.length - 1].created_by, '/bin/sh -c #(nop)  ONBUILD RUN echo triggered > /onbuild-ran')

  write({ Dockerfile: 'FROM ob:1\nCMD ["sh", "-c", "cat /onbuild-ran /trig.txt"]\n' })
  const child = ok('build', '-t', 'ob:2', `${dir}/ctx`)
  t.match(child, /Step 1\/2 : FROM ob:1\n ---> [0-9a-f]{12}\n# Executing 2 build triggers\n ---> [0-9a-f]{12}\n ---> Running in /, 'the triggers run right after FROM')
  t.equal(ok('run', '--rm', 'ob:2'), 'triggered\nfrom the child context\n', 'both triggers ran, the COPY from the child build\'s context')
  t.notOk(inspect('ob:2').Config.OnBuild?.length, 'the child does not pass the triggers on')
  write({ Dockerfile: 'FROM ob:2\nRUN test ! -e /again\n' })
  t.notMatch(ok('build', '-t', 'ob:3', `${dir}/ctx`), /Executing/, 'a grandchild runs no triggers')
})

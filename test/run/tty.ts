// run -t: the command gets a pty of the container's own devpts as its
// controlling terminal; output and exit status come through the relay.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { containerFixture, strata } from '../fixtures/container-image.js'

t.test('run -t allocates a pty inside the container', async (t) => {
  const { env, run } = containerFixture(t)
  let r = run('run', '--rm', '-t', 'bb:1', 'sh', '-c', 'tty; ls /dev/pts | tr "\\n" " "; echo; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; exit 3')
  t.equal(r.stdout, '/dev/pts/0\r\n0 ptmx \r\nstdio-is-tty\r\n', 'its tty is /dev/pts/0 of its own devpts (the pty turns \\n into \\r\\n)')
  t.equal(r.status, 3, 'the command\'s exit status comes through')
  r = run('run', '--rm', 'bb:1', 'sh', '-c', 'tty; ls /dev/pts | tr "\\n" " "')
  t.equal(r.stdout, 'not a tty\nptmx ', 'without -t: no tty, an empty devpts')
  // Under a terminal (script(1) gives one): the window size reaches the container.
  const s = spawnSync('script', ['-qec', `stty cols 97 rows 33; ${strata} run --rm -it bb:1 stty size`, '/dev/null'], { env, encoding: 'utf8', input: '', timeout: 60000 })
  t.match(s.stdout, /33 97/, `the terminal's size (${s.stderr})`)
})

// `strata build -f -` (the Dockerfile on stdin) and `strata build -` (the
// context on stdin: a tar, plain or compressed, or a Dockerfile alone).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { buildEnv } from '../fixtures/build-env.js'

t.test('-f - reads the Dockerfile from stdin', async (t) => {
  const { dir, ok, runIn, write } = buildEnv(t)
  write({ 'a.txt': 'from the context dir\n', Dockerfile: 'FROM busy:1\nRUN echo wrong-dockerfile\n' })
  const r = runIn('FROM busy:1\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n', 'build', '-f', '-', '-t', 'stdin:1', `${dir}/ctx`)
  t.equal(r.status, 0, r.stderr)
  t.notMatch(r.stdout, /wrong-dockerfile/, "the context's own Dockerfile is not used")
  t.equal(ok('run', '--rm', 'stdin:1'), 'from the context dir\n')
})

t.test('- reads the context from stdin', async (t) => {
  const { dir, ok, runIn, write } = buildEnv(t)
  write({ 'a.txt': 'from the tar\n', 'other.df': 'FROM busy:1\nCOPY a.txt /other\nCMD ["cat", "/other"]\n', Dockerfile: 'FROM busy:1\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n' })
  const tar = execFileSync('tar', ['-C', `${dir}/ctx`, '-c', '.'])
  let r = runIn(tar, 'build', '-t', 'tarctx:1', '-')
  t.equal(r.status, 0, r.stderr)
  t.equal(ok('run', '--rm', 'tarctx:1'), 'from the tar\n', 'the Dockerfile and the files come from the tar')
  r = runIn(execFileSync('gzip', ['-c'], { input: tar }), 'build', '-f', 'other.df', '-t', 'tarctx:2', '-')
  t.equal(r.status, 0, r.stderr)
  t.equal(ok('run', '--rm', 'tarctx:2'), 'from the tar\n', 'a gzipped tar; -f names a file inside it')
  r = runIn('FROM busy:1\nRUN echo no context > /n\nCMD ["cat", "/n"]\n', 'build', '-t', 'noctx:1', '-')
  t.equal(r.status, 0, r.stderr)
  t.equal(ok('run', '--rm', 'noctx:1'), 'no context\n', 'a Dockerfile alone on stdin builds with an empty context')
  r = runIn('FROM busy:1\nCOPY a.txt /\n', 'build', '-t', 'noctx:2', '-')
  t.not(r.status, 0)
  t.match(r.stderr, /file not found in build context/, '…which has no files')
  r = runIn('', 'build', '-f', '-', '-')
  t.not(r.status, 0)
  t.match(r.stderr, /stdin cannot be both the context and the Dockerfile/)
  t.same(execFileSync('sh', ['-c', `ls ${dir}/store/tmp | grep build-stdin || true`], { encoding: 'utf8' }), '', 'no unpacked context is left in the store')
})

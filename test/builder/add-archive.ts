// ADD of local archives as docker unpacks them: bzip2 and xz too; a
// symlinked directory of the image (/bin -> usr/bin in a usrmerged image)
// followed for an entry's parents, an explicit directory entry replacing
// it; .wh.* entries refused rather than turned into whiteouts that delete
// the image's files.
import t from 'tap'
import fs from 'node:fs'
import { execFileSync } from 'node:child_process'
import { buildEnv } from '../fixtures/build-env.js'

t.test('ADD unpacks .tar.xz and .tar.bz2', async (t) => {
  const { dir, ok, write } = buildEnv(t)
  fs.mkdirSync(`${dir}/src/pkg`, { recursive: true })
  fs.writeFileSync(`${dir}/src/pkg/x.txt`, 'from xz\n')
  execFileSync('tar', ['-C', `${dir}/src`, '-cJf', `${dir}/ctx/a.tar.xz`, 'pkg'])
  fs.writeFileSync(`${dir}/src/pkg/x.txt`, 'from bzip2\n')
  execFileSync('tar', ['-C', `${dir}/src`, '-cjf', `${dir}/ctx/a.tar.bz2`, 'pkg'])
  // Named like an archive but not one: copied as it is, as docker does.
  fs.writeFileSync(`${dir}/ctx/fake.tar.xz`, 'not compressed at all\n')
  write({ Dockerfile: 'FROM busy:1\nADD a.tar.xz /xz/\nADD a.tar.bz2 /bz/\nADD fake.tar.xz /fake/\n' })
  ok('build', '-t', 'arch:1', `${dir}/ctx`)
  t.equal(ok('run', '--rm', 'arch:1', 'cat', '/xz/pkg/x.txt', '/bz/pkg/x.txt', '/fake/fake.tar.xz'), 'from xz\nfrom bzip2\nnot compressed at all\n')
})

t.test('usrmerged /bin: followed, or replaced by a bin/ entry', async (t) => {
  const { dir, ok, run, write } = buildEnv(t, { usrmerge: true })
  fs.mkdirSync(`${dir}/src/bin`, { recursive: true })
  fs.writeFileSync(`${dir}/src/bin/x`, 'x\n')
  // Only the file: bin/ is a parent, not an entry.
  execFileSync('tar', ['-C', `${dir}/src`, '-cf', `${dir}/ctx/file-only.tar`, 'bin/x'])
  t.notMatch(execFileSync('tar', ['-tf', `${dir}/ctx/file-only.tar`], { encoding: 'utf8' }), /^bin\/$/m)
  write({ Dockerfile: 'FROM merged:1\nADD file-only.tar /\n' })
  ok('build', '-t', 'um:1', `${dir}/ctx`)
  t.equal(ok('run', '--rm', 'um:1', 'readlink', '/bin'), 'usr/bin\n', '/bin is still the symlink')
  t.equal(ok('run', '--rm', 'um:1', 'sh', '-c', 'echo shell works; cat /usr/bin/x'), 'shell works\nx\n', '/bin/sh is there and the file went to /usr/bin')

  // With the directory as an entry of its own, docker (moby's Unpack, like
  // containerd's) replaces the symlink with that directory.
  execFileSync('tar', ['-C', `${dir}/src`, '-cf', `${dir}/ctx/with-dir.tar`, 'bin'])
  t.match(execFileSync('tar', ['-tf', `${dir}/ctx/with-dir.tar`], { encoding: 'utf8' }), /^bin\/$/m)
  write({ Dockerfile: 'FROM merged:1\nADD with-dir.tar /\n' })
  ok('build', '-t', 'um:2', `${dir}/ctx`)
  t.equal(ok('run', '--rm', 'um:2', '/usr/bin/ls', '/bin'), 'x\n', '/bin is now a directory holding only x')
  t.not(run('run', '--rm', 'um:2', '/usr/bin/test', '-L', '/bin').status, 0, 'no longer a symlink')
})

t.test('ADD refuses .wh. entries', async (t) => {
  const { dir, run, write, snap, ok } = buildEnv(t)
  fs.mkdirSync(`${dir}/src/etc`, { recursive: true })
  fs.writeFileSync(`${dir}/src/etc/.wh.passwd`, '')
  execFileSync('tar', ['-C', `${dir}/src`, '-cf', `${dir}/ctx/wh.tar`, 'etc'])
  fs.rmSync(`${dir}/src`, { recursive: true })
  fs.mkdirSync(`${dir}/src/etc`, { recursive: true })
  fs.writeFileSync(`${dir}/src/etc/.wh..wh..opq`, '')
  execFileSync('tar', ['-C', `${dir}/src`, '-cf', `${dir}/ctx/opq.tar`, 'etc'])
  const before = snap()
  for (const [tar, name] of [['wh.tar', 'etc/.wh.passwd'], ['opq.tar', 'etc/.wh..wh..opq']]) {
    write({ Dockerfile: `FROM busy:1\nADD ${tar} /\n` })
    const r = run('build', '-t', 'wh:1', `${dir}/ctx`)
    t.not(r.status, 0, `ADD ${tar} fails`)
    t.match(r.stderr, new RegExp(`Dockerfile:2: .*ADD ${tar}: entry ${name.replace(/\./g, '\\.')}: a name starting with \\.wh\\. is a whiteout`))
  }
  t.equal(snap(), before, 'nothing was stored')
  t.equal(ok('run', '--rm', 'busy:1', 'cat', '/etc/passwd').split('\n')[0], 'root:x:0:0:root:/root:/bin/sh', "the base image's /etc/passwd is intact")
})

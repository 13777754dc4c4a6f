// The attribute rules native/attr-rules.h defines once for both paths (the
// loop threads' fast path and the union's setattr): what setattrAt does to
// a real file for each bit of the mask, by name and through the entry's own
// fd, and the attribute timeout of hard-linked upper files.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { native, C, STAT_LEN, S_SIZE, S_UID, S_GID, S_MODE, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS, type RawStat } from '../../src/native/binding.js'
import { SET_MODE, SET_UID, SET_GID, SET_SIZE, SET_ATIME, SET_MTIME, SET_MTIME_NOW } from '../../src/union/union-fs.js'

function attr (fields: Record<number, number>): RawStat {
  const a = new Float64Array(STAT_LEN)
  for (const [k, v] of Object.entries(fields)) a[Number(k)] = v
  return a
}

function openDir (t: Test, dir: string): number {
  const fd = native.openat(C.AT_FDCWD, dir, C.O_RDONLY | C.O_DIRECTORY, 0)
  t.teardown(() => { native.close(fd) })
  return fd
}

t.test('attrTimeout: only an upper non-directory with more than one link is never cached', async (t) => {
  const T = 86400
  const cases: Array<[string, boolean, number, number, number]> = [
    ['upper file, one link', true, 0o100644, 1, T],
    ['upper file, two links', true, 0o100644, 2, 0],
    ['upper symlink, three links', true, 0o120777, 3, 0],
    ['upper directory with subdirectories', true, 0o40755, 5, T],
    ['lower file, two links (lowers never change)', false, 0o100644, 2, T],
  ]
  for (const [what, upper, mode, nlink, want] of cases) t.equal(native.attrTimeout(upper, mode, nlink, T), want, what)
})

t.test('setattrAt by name: size, owner, mode and times, each only when its bit is set', async (t) => {
  const dir = t.testdir({ f: 'hello world' })
  const dirfd = openDir(t, dir)
  const f = path.join(dir, 'f')
  native.setattrAt(dirfd, 'f', -1, SET_SIZE | SET_UID | SET_GID | SET_MODE | SET_ATIME | SET_MTIME,
    attr({ [S_SIZE]: 5, [S_UID]: 1234, [S_GID]: 5678, [S_MODE]: 0o104640, [S_ATIME]: 1000, [S_ATIME_NS]: 5, [S_MTIME]: 2000, [S_MTIME_NS]: 7 }))
  let st = fs.statSync(f, { bigint: true })
  t.equal(fs.readFileSync(f, 'utf8'), 'hello', 'truncated to 5 bytes')
  t.same([st.uid, st.gid], [1234n, 5678n], 'owner set')
  t.equal(st.mode, 0o104640n, 'permission bits (setuid too) set, the type kept')
  t.same([st.atimeNs, st.mtimeNs], [1000n * 10n ** 9n + 5n, 2000n * 10n ** 9n + 7n], 'times set to the nanosecond')

  // Only the mode bit: size, owner and times stay as they are.
  native.setattrAt(dirfd, 'f', -1, SET_MODE, attr({ [S_SIZE]: 0, [S_UID]: 1, [S_GID]: 1, [S_MODE]: 0o600 }))
  st = fs.statSync(f, { bigint: true })
  t.same([st.mode, st.size, st.uid, st.mtimeNs], [0o100600n, 5n, 1234n, 2000n * 10n ** 9n + 7n], 'nothing but the mode changed')

  const before = BigInt(Date.now() - 1000) * 10n ** 6n
  const atime = st.atimeNs  // (reading the file above moved it)
  native.setattrAt(dirfd, 'f', -1, SET_MTIME | SET_MTIME_NOW, attr({ [S_MTIME]: 1 }))
  st = fs.statSync(f, { bigint: true })
  t.ok(st.mtimeNs >= before, 'MTIME_NOW sets the time to now, not to the value given')
  t.equal(st.atimeNs, atime, 'atime omitted')
})

t.test('setattrAt truncates through the open file when given one', async (t) => {
  const dir = t.testdir({ f: 'abcdef', other: 'xyz' })
  const dirfd = openDir(t, dir)
  const fh = fs.openSync(path.join(dir, 'f'), 'r+')
  t.teardown(() => { fs.closeSync(fh) })
  // The name is another file's: the size goes through fh, the name is not opened.
  native.setattrAt(dirfd, 'other', fh, SET_SIZE, attr({ [S_SIZE]: 2 }))
  t.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'ab', 'the open file is truncated')
  t.equal(fs.readFileSync(path.join(dir, 'other'), 'utf8'), 'xyz', 'the named file is not')
})

t.test('setattrAt with an empty name changes the fd\'s own file (a directory)', async (t) => {
  const dir = t.testdir({ d: {} })
  const fd = openDir(t, path.join(dir, 'd'))
  native.setattrAt(fd, '', -1, SET_MODE | SET_UID | SET_MTIME, attr({ [S_MODE]: 0o700, [S_UID]: 42, [S_MTIME]: 3000 }))
  const st = fs.statSync(path.join(dir, 'd'), { bigint: true })
  t.same([st.mode, st.uid, st.mtimeNs], [0o40700n, 42n, 3000n * 10n ** 9n], 'mode, owner and mtime of the directory itself')
})

t.test('setattrAt does not follow a symlink, and stops at the first failure', async (t) => {
  const dir = t.testdir({ target: 'x', ln: t.fixture('symlink', 'target'), subdir: {} })
  const dirfd = openDir(t, dir)
  native.setattrAt(dirfd, 'ln', -1, SET_UID, attr({ [S_UID]: 777 }))
  t.equal(fs.lstatSync(path.join(dir, 'ln')).uid, 777, 'the link itself is chowned')
  t.equal(fs.statSync(path.join(dir, 'target')).uid, 0, 'its target is not')
  t.throws(() => { native.setattrAt(dirfd, 'missing', -1, SET_MODE, attr({ [S_MODE]: 0o600 })) }, { code: 'ENOENT' }, 'an errno error names the failure')
  const mode = fs.statSync(path.join(dir, 'subdir')).mode
  t.throws(() => { native.setattrAt(dirfd, 'subdir', -1, SET_SIZE | SET_MODE, attr({ [S_MODE]: 0o600 })) }, { code: 'EISDIR' }, 'a directory cannot be truncated')
  t.equal(fs.statSync(path.join(dir, 'subdir')).mode, mode, 'and the mode bit after the failed size is not applied')
})

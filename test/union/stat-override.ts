// The override_stat record: the forms fuse-overlayfs and containers/storage
// write are read, junk is ignored (the file then shows its own
// attributes), and only owner and permission bits ever come from it.
import t from 'tap'
import { S_UID, S_GID, S_MODE, STAT_LEN } from '../../src/native/binding.js'
import { parseOverride, formatOverride, applyOverride, detectOverride, backingMode, overrideForOption, OVERRIDE_XATTRS } from '../../src/union/stat-override.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

t.test('the written forms parse; junk does not', async (t) => {
  t.same(parseOverride(b('1234:1235:104710')), { uid: 1234, gid: 1235, mode: 0o104710 }, "fuse-overlayfs 1.10's (whole st_mode)")
  t.same(parseOverride(b('0:0:0755')), { uid: 0, gid: 0, mode: 0o755 }, "containers/storage's (leading 0)")
  t.same(parseOverride(b('7:8:0644:file')), { uid: 7, gid: 8, mode: 0o644 }, 'a type field after the mode')
  t.same(parseOverride(b('7:8:644\0')), { uid: 7, gid: 8, mode: 0o644 }, 'a trailing NUL')
  for (const junk of ['', '1:2', '1:2:', 'a:b:644', '1:2:9', '-1:0:644', '1:2:644x', '99999999999:0:644']) {
    t.equal(parseOverride(b(junk)), null, JSON.stringify(junk))
  }
  const v = formatOverride(1000, 100, 0o40711)
  t.equal(v.toString(), '1000:100:40711')
  t.same(parseOverride(v), { uid: 1000, gid: 100, mode: 0o40711 }, 'round trip')
})

t.test('applied: owner and permission bits from the record, the type from the file', async (t) => {
  const st = new Float64Array(STAT_LEN)
  st[S_UID] = 0
  st[S_GID] = 0
  st[S_MODE] = 0o40755
  const a = applyOverride(st, b('5:6:104750'))
  t.same([a[S_UID], a[S_GID], a[S_MODE]], [5, 6, 0o44750], 'a directory stays a directory')
  t.equal(st[S_MODE], 0o40755, 'the stat given is left alone (layers cache theirs)')
  t.equal(applyOverride(st, null), st, 'no record: the real attributes')
  t.equal(applyOverride(st, b('junk')), st, 'a bad record: the real attributes')
})

t.test('detection order and the option names', async (t) => {
  t.equal(detectOverride(() => null), null)
  t.equal(detectOverride((x) => x === OVERRIDE_XATTRS[2] || x === OVERRIDE_XATTRS[1] ? b('0:0:755') : null), 'user.containers.override_stat', 'containers before user')
  t.equal(detectOverride((x) => b(x)), 'security.fuseoverlayfs.override_stat', 'security first')
  t.equal(detectOverride(() => { throw Object.assign(new Error('no xattrs'), { code: 'ENOTSUP' }) }), null, 'a filesystem without xattrs: none')
  t.same([overrideForOption(0), overrideForOption(1), overrideForOption(2)], [null, 'security.fuseoverlayfs.override_stat', 'user.fuseoverlayfs.override_stat'])
  t.equal(backingMode(0o4600), 0o755, 'backing files: reachable by the daemon, no set-id')
  t.equal(backingMode(0o666), 0o777)
})

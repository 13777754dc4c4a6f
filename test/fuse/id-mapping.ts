// uidmapping=/gidmapping= parsing and translation, and squash_to_*: the
// arithmetic every mapped owner goes through (the mounts themselves are
// checked in test/cli/fuse-overlayfs-cli.ts).
import t from 'tap'
import { IdMapping, parseIdRanges, OVERFLOW_ID } from '../../src/fuse/id-mapping.js'

t.test('ranges parse as container:host:count triplets', async (t) => {
  t.same(parseIdRanges('uidmapping', '0:100000:65536'), [{ container: 0, host: 100000, count: 65536 }])
  t.same(parseIdRanges('uidmapping', '0:1000:1:1:100000:65535'), [
    { container: 0, host: 1000, count: 1 }, { container: 1, host: 100000, count: 65535 }])
  for (const bad of ['', '0:1', '0:1:2:3', 'a:b:c', '0:1:-1', '0:1:0', '0:4294967296:1']) {
    t.throws(() => parseIdRanges('uidmapping', bad), { code: 'EINVAL', message: /uidmapping=/ }, `"${bad}" is refused`)
  }
})

t.test('reads map host to container, writes container to host', async (t) => {
  const m = new IdMapping({ uidmap: parseIdRanges('u', '0:1000:1:1:100000:65535'), gidmap: parseIdRanges('g', '0:2000:10') })
  t.ok(m.active)
  t.equal(m.uidOut(1000), 0)
  t.equal(m.uidOut(100000), 1)
  t.equal(m.uidOut(100000 + 65534), 65535, 'last id of the range')
  t.equal(m.uidOut(100000 + 65535), OVERFLOW_ID, 'one past the range')
  t.equal(m.uidOut(0), OVERFLOW_ID, 'host root is not mapped')
  t.equal(m.uidIn(0), 1000)
  t.equal(m.uidIn(5), 100004)
  t.equal(m.gidOut(2009), 9)
  t.equal(m.gidIn(9), 2009)
  t.throws(() => m.gidIn(10), { code: 'EINVAL' }, 'a container gid outside the ranges cannot be written')
  for (let id = 0; id < 65536; id += 997) t.equal(m.uidOut(m.uidIn(id)), id, `uid ${id} round-trips`)
})

t.test('squash rewrites reads only; no mapping is the identity', async (t) => {
  const s = new IdMapping({ squashUid: 0, squashGid: 7 })
  t.ok(s.active)
  t.equal(s.uidOut(1234), 0)
  t.equal(s.gidOut(1234), 7)
  t.equal(s.uidIn(1234), 1234, 'writes keep the caller')
  const none = new IdMapping({})
  t.notOk(none.active)
  t.equal(none.uidOut(42), 42)
  t.equal(none.gidIn(42), 42)
})

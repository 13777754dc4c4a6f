// uidmapping=/gidmapping= parsing and translation, and squash_to_*: the
// arithmetic every mapped owner goes through, with fuse-overlayfs's order
// (LAYER:MOUNT:COUNT). The mounts themselves are checked in
// test/cli/fuse-overlayfs-cli.ts and through podman --uidmap.
import t from 'tap'
import { IdMapping, parseIdRanges, OVERFLOW_ID } from '../../src/fuse/id-mapping.js'

t.test('ranges parse as layer:mount:count triplets', async (t) => {
  t.same(parseIdRanges('uidmapping', '0:100000:65536'), [{ layer: 0, mount: 100000, count: 65536 }])
  t.same(parseIdRanges('uidmapping', ':0:100000:65536'), [{ layer: 0, mount: 100000, count: 65536 }], 'containers/storage\'s leading ":"')
  t.same(parseIdRanges('uidmapping', '0:1000:1:1:100000:65535'), [
    { layer: 0, mount: 1000, count: 1 }, { layer: 1, mount: 100000, count: 65535 }])
  for (const bad of ['', ':', '0:1', '0::1:2', '0:1:2:', '0:1:2:3', 'a:b:c', '0:1:-1', '0:1:0', '0:4294967296:1']) {
    t.throws(() => parseIdRanges('uidmapping', bad), { code: 'EINVAL', message: /uidmapping=/ }, `"${bad}" is refused`)
  }
})

t.test('reads map layer ids to mount ids, writes mount ids to layer ids', async (t) => {
  // podman --uidmap 0:100000:65536 (layer 0 is host 100000), gid 0 apart.
  const m = new IdMapping({ uidmap: parseIdRanges('u', '0:100000:65536'), gidmap: parseIdRanges('g', '0:2000:1:1:300001:9') })
  t.ok(m.active)
  t.equal(m.uidOut(0), 100000, 'layer root shows as host 100000')
  t.equal(m.uidOut(65535), 165535, 'last id of the range')
  t.equal(m.uidOut(65536), OVERFLOW_ID, 'one past the range')
  t.equal(m.uidIn(100000), 0, 'host 100000 is stored as 0')
  t.equal(m.uidIn(100005), 5)
  t.equal(m.uidIn(0), OVERFLOW_ID, 'host root is not mapped: written as the overflow id, as fuse-overlayfs does')
  t.equal(m.gidOut(0), 2000)
  t.equal(m.gidOut(9), 300009)
  t.equal(m.gidIn(300009), 9)
  t.equal(m.gidIn(300010), OVERFLOW_ID, 'a mount gid outside the ranges')
  for (let id = 0; id < 65536; id += 997) t.equal(m.uidIn(m.uidOut(id)), id, `uid ${id} round-trips`)
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

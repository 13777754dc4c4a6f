// strata run --pull=always|missing|never|lazy against the real registry
// (through the fault proxy, to count what each run fetches): lazy pulls an
// image missing from the store lazily and runs it at once, fetching a
// fraction of its blobs; missing (the default) pulls it whole; never refuses
// a missing image; always pulls again. A bad value is a usage error (125)
// that changes nothing.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { cli } from '../fixtures/estargz-image.js'
import { pushedRich, blobBytesThrough } from '../fixtures/pushed-rich-image.js'

const lazyDirs = (root: string): string[] => fs.existsSync(path.join(root, 'lazy')) ? fs.readdirSync(path.join(root, 'lazy')).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []

t.test('run --pull', async (t) => {
  const { proxy, dir, ref } = await pushedRich(t)
  proxy.requests.length = 0
  await cli(path.join(dir, 'store-probe')).run('image', 'pull', ref)
  const blobBytes = blobBytesThrough(proxy)

  const root = path.join(dir, 'store')
  const b = cli(root, { STRATA_LAZY_FILL: '0' })
  let r = await b.call(['run', '--rm', '--pull=sometimes', ref])
  t.equal(r.code, 125, 'a bad --pull value: status 125')
  t.match(r.stderr, /invalid argument "sometimes" for "--pull" flag: expected one of "always", "missing", "never", "lazy"/)
  t.notOk(fs.existsSync(path.join(root, 'oci')), 'and nothing was stored')

  r = await b.call(['run', '--rm', '--pull', 'never', ref])
  t.equal(r.code, 125, '--pull never of a missing image fails')
  t.match(r.stderr, /no image .*rich:1 in the store/)
  t.equal(blobBytesThrough(proxy), blobBytes, 'without asking the registry')

  proxy.requests.length = 0
  r = await b.call(['run', '--rm', '--pull=lazy', ref])
  t.equal(r.code, 0, 'run --pull=lazy exits 0')
  t.equal(r.stdout, 'changed in layer 2\n', 'run --pull=lazy ran the image; stdout is the container\'s alone')
  t.match(r.stderr, /Unable to find image '.*rich:1' locally/, 'said on stderr, as docker does')
  t.match(r.stderr, /Table of contents verified/, 'the pull was lazy')
  const lazyBytes = blobBytesThrough(proxy)
  t.ok(lazyBytes < blobBytes / 4, `pull and run fetched ${lazyBytes} of ${blobBytes} blob bytes`)
  t.equal(lazyDirs(root).length, 2, 'both layers are lazy')

  proxy.requests.length = 0
  r = await b.call(['run', '--rm', '--pull=lazy', ref, '/bin/cat', '/data/suid'])
  t.equal(r.stdout, '#!/bin/sh\n', 'a present image: run at once')
  t.notMatch(r.stderr, /Unable to find/, 'no pull')
  r = await b.call(['run', '--rm', '--pull=never', ref, '/bin/cat', '/data/suid'])
  t.equal(r.stdout, '#!/bin/sh\n', '--pull=never runs what the store has')
  t.notOk(proxy.requests.some((x) => /\/manifests\//.test(x.path)), 'neither asked for the manifest')

  r = await b.call(['run', '--rm', '--pull=always', ref, '/bin/cat', '/etc/motd'])
  t.equal(r.stdout, 'changed in layer 2\n', '--pull=always')
  t.ok(proxy.requests.some((x) => /\/manifests\//.test(x.path)), 'asked the registry even though the image is there')

  const full = path.join(dir, 'store-full')
  proxy.requests.length = 0
  r = await cli(full).call(['run', '--rm', ref])
  t.equal(r.stdout, 'changed in layer 2\n', 'the default (missing) pulls a missing image, then runs it')
  t.equal(blobBytesThrough(proxy), blobBytes, 'whole')
  t.equal(lazyDirs(full).length, 0, 'with no lazy layer')
})

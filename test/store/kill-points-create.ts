// Kill points of the commands that add to the store: import, commit, load,
// pull (a local docker-registry) and build, each killed by itself at points
// of its progress (an entry extracted, a layer dir filled, renamed, a blob
// written); what check must report, and the rest, is in the harness.
import { type Case, runKillCases, work, listed, withoutBase } from '../fixtures/kill-harness.js'

const cases: Case[] = []

for (const [point, left] of [
  ['extract-entry:40', ['temp', 'temp']], ['layer-filled:1', ['temp', 'temp']], ['layer-renamed:1', ['orphan-layer', 'temp']],
  ['blob-written:1', ['orphan-layer', 'temp', 'temp']],
] as Array<[string, string[]]>) {
  cases.push({ args: ['image', 'import', `${work}/rootfs2`, 'x:1'], point, left, after: (t, root) => listed(root, /^x\s+1/m)(t) })
}
for (const [point, left] of [['extract-entry:40', ['temp', 'temp']], ['blob-written:1', ['orphan-layer', 'temp', 'temp']]] as Array<[string, string[]]>) {
  cases.push({ args: ['commit', 'c1', 'y:1'], point, left, after: (t, root) => listed(root, /^y\s+1/m)(t) })
}
for (const [point, left] of [['extract-entry:40', ['temp', 'temp']], ['layer-renamed:1', ['orphan-layer', 'temp']]] as Array<[string, string[]]>) {
  cases.push({ args: ['image', 'load', '-i', `${work}/base.tar`], point, left, prepare: withoutBase, after: (t, root) => listed(root, /^base\s+1/m)(t) })
  // The pulled image is base:1 itself: without it in the store, its layer is fetched and extracted.
  cases.push({ args: ['image', 'pull', 'REGISTRY/kp/base:1'], point, left, prepare: withoutBase, after: (t, root) => listed(root, /kp\/base\s+1/)(t) })
}
// A build stages COPY sources in a dir of its own besides the layer tar.
for (const [point, left] of [['layer-renamed:1', ['orphan-layer', 'temp', 'temp']], ['blob-written:1', ['orphan-layer', 'temp', 'temp', 'temp']]] as Array<[string, string[]]>) {
  cases.push({ args: ['build', '-t', 'b:1', `${work}/ctx`], point, left, after: (t, root) => listed(root, /^b\s+1/m)(t) })
}

runKillCases(cases, { registry: true })

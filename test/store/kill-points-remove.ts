// Kill points of the commands that remove from the store: image rm, image
// prune and container rm, each killed by itself half-way through (a blob
// collected, a layer's mark taken, a dir renamed out of its name, entries
// of it deleted); what check must report, and the rest, is in the harness.
import { type Case, runKillCases, work, strata, notListed } from '../fixtures/kill-harness.js'

const cases: Case[] = []
for (const [point, left] of [
  ['gc-blob:1', ['orphan-blob', 'orphan-blob', 'orphan-layer']], ['layer-unmarked:1', ['orphan-layer']],
  ['doomed-renamed:1', ['temp']], ['remove-entry:60', ['temp']],
] as Array<[string, string[]]>) {
  cases.push({ args: ['image', 'rm', 'z:1'], point, left, prepare: (root) => strata(root, 'image', 'import', `${work}/rootfs3`, 'z:1'), after: (t, root) => notListed(root, /^z\s/m)(t), retryRefused: /no image .*z:1/ })
  // prune collects with the same code as rm: two points are enough.
  if (point.startsWith('gc-') || point.startsWith('remove-')) {
    cases.push({ args: ['image', 'prune'], point, left, prepare: (root) => { strata(root, 'image', 'import', `${work}/rootfs3`, 'z:1'); strata(root, 'image', 'import', `${work}/rootfs2`, 'z:1') }, after: (t, root) => t.notMatch(strata(root, 'image', 'ls'), /<none>/) })
  }
}
for (const point of ['doomed-renamed:1', 'remove-entry:60']) {
  cases.push({ args: ['container', 'rm', 'c1'], point, left: ['temp'], after: (t, root) => t.notMatch(strata(root, 'container', 'ls'), /c1/), retryRefused: /no container "c1"/ })
}

runKillCases(cases)

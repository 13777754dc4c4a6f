// The daemon bin/strata starts itself, with the raw argv, for a mount line
// no spare took (mount-line.ts says what it does and tells). Once its own
// mount has settled, it boots a spare for the next line (start-spare.ts).
// Run from its CommonJS bundle (scripts/bundle-entries.mjs): no top-level await.
import { runMountLine } from './mount-line.js'
import { startSpare } from './start-spare.js'

// bin/strata started this process without the caller's NODE_EXTRA_CA_CERTS
// (Node loads the file as it starts: ~40 ms on the caller's clock, and a
// mount line never speaks TLS). Put back, the environment is the caller's
// again: the spare it boots has the same name as the one the next caller's
// launcher asks for (native/spare-key.cc hashes NODE_* and STRATA_*), and
// loads the certificates a lazily pulled layer may need.
const held = process.env.STRATA_HELD_CA_CERTS
if (held !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = held
  delete process.env.STRATA_HELD_CA_CERTS
}

void runMountLine(process.argv.slice(2), startSpare)

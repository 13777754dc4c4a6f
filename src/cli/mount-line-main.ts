// The daemon bin/strata starts itself, with the raw argv, for a mount line
// no spare took (mount-line.ts says what it does and tells). Once its own
// mount has settled, it boots a spare for the next line (start-spare.ts).
// Run from its CommonJS bundle (scripts/bundle-entries.mjs): no top-level
// await. bin/strata starts it without NODE_EXTRA_CA_CERTS (a mount line
// names directories, never a registry), put back first for the spare.
import '../base/held-ca-certs.js'
import { runMountLine } from './mount-line.js'
import { startSpare } from './start-spare.js'

void runMountLine(process.argv.slice(2), startSpare)

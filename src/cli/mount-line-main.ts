// The daemon bin/strata starts itself, with the raw argv, for a mount line
// no spare took (mount-line.ts says what it does and tells). Once its own
// mount has settled, it boots a spare for the next line (start-spare.ts).
import { runMountLine } from './mount-line.js'
import { startSpare } from './start-spare.js'

await runMountLine(process.argv.slice(2), startSpare)

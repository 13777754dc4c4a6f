// The entry bin/strata takes for `strata --version` (and fuse-overlayfs's
// -V): scripts and shells ask it often, so it loads nothing but the version.
import { version } from './package-version.js'

process.stdout.write(version() + '\n')

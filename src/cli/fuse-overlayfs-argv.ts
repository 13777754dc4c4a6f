// fuse-overlayfs's own command line on the strata binary, the one
// containers/storage runs as mount_program:
//   strata [-f] [-d|--debug] -o OPTS [-o OPTS…] [-oOPTS] MOUNTPOINT
// becomes `strata mount -o OPTS … MOUNTPOINT`, which returns once the mount
// is live with its daemon in the background. -V is fuse-overlayfs's
// --version. Anything else (a strata command, `strata SRC DIR -o` from
// mount.fuse) is left as it is.

/** argv without the node and script names → the argv to parse. */
export function fromFuseOverlayfs (argv: string[]): string[] {
  if (argv.length === 1 && argv[0] === '-V') return ['--version']
  if (argv.length === 0 || !argv[0].startsWith('-')) return argv
  const options: string[] = []
  const positional: string[] = []
  const flags: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-o') {
      if (i + 1 >= argv.length) return argv
      options.push(argv[++i])
    } else if (a.startsWith('-o')) options.push(a.slice(2))
    else if (a === '-f') flags.push('-f')
    else if (a === '-d' || a === '--debug') flags.push('--debug')
    else if (a.startsWith('-')) return argv
    else positional.push(a)
  }
  if (options.length === 0 || positional.length !== 1) return argv
  return ['mount', ...options.flatMap((o) => ['-o', o]), ...flags, positional[0]]
}

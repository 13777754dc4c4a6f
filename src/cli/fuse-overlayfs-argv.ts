// fuse-overlayfs's own command line on the strata binary, the one
// containers/storage runs as mount_program:
//   strata [-f] [-d|--debug] -o OPTS [-o OPTS…] [-oOPTS] MOUNTPOINT
// becomes `strata mount -o OPTS … MOUNTPOINT`, which returns once the mount
// is live with its daemon in the background. -V is fuse-overlayfs's
// --version. Anything else (a strata command, `strata SRC DIR -o` from
// mount.fuse) is left as it is.

export interface FuseOverlayfsLine {
  options: string[]
  foreground: boolean
  debug: boolean
  mountpoint: string
}

/** The line's parts, or null when it is not fuse-overlayfs's mount line. */
export function parseFuseOverlayfsArgv (argv: string[]): FuseOverlayfsLine | null {
  if (argv.length === 0 || !argv[0].startsWith('-')) return null
  const line: FuseOverlayfsLine = { options: [], foreground: false, debug: false, mountpoint: '' }
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-o') {
      if (i + 1 >= argv.length) return null
      line.options.push(argv[++i])
    } else if (a.startsWith('-o')) line.options.push(a.slice(2))
    else if (a === '-f') line.foreground = true
    else if (a === '-d' || a === '--debug') line.debug = true
    else if (a.startsWith('-')) return null
    else positional.push(a)
  }
  if (line.options.length === 0 || positional.length !== 1) return null
  line.mountpoint = positional[0]
  return line
}

/** argv without the node and script names → the argv to parse. */
export function fromFuseOverlayfs (argv: string[]): string[] {
  if (argv.length === 1 && argv[0] === '-V') return ['--version']
  const line = parseFuseOverlayfsArgv(argv)
  if (!line) return argv
  return ['mount', ...line.options.flatMap((o) => ['-o', o]), ...(line.foreground ? ['-f'] : []), ...(line.debug ? ['--debug'] : []), line.mountpoint]
}

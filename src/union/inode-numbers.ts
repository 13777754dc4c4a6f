// Stable st_ino for the union: the real inode number of the entry's origin
// (the lower file it was copied up from, or the upper file itself), with the
// index of its device in the high bits when layers span several devices.
// Same layers, same order → same numbers, across copy-up and remounts; hard
// links in a lower share a number because they share the real inode.
const DEV_SHIFT = 2 ** 48

export class InodeNumbers {
  private readonly devs: number[] = []

  /** Devices in layer order (upper first); the first device gets index 0. */
  constructor (devices: number[]) {
    for (const d of devices) if (!this.devs.includes(d)) this.devs.push(d)
  }

  of (dev: number, ino: number): number {
    let i = this.devs.indexOf(dev)
    if (i < 0) {
      this.devs.push(dev)
      i = this.devs.length - 1
    }
    // Inode numbers past 2^48 are rare (ext4 has 32-bit ones); fold them so
    // the result stays an exact JS number.
    const low = ino < DEV_SHIFT ? ino : ino % DEV_SHIFT
    return i * DEV_SHIFT + low
  }
}

// Who makes a new entry: the creating process's fsuid, fsgid and umask, as
// the kernel hands them to a filesystem. Creating calls take one of these
// rather than loose numbers, so an id mapping (uidmapping=…) wraps one value.
export interface Caller {
  uid: number
  gid: number
  /** Bits to clear from the requested mode (unless a default ACL decides instead). */
  umask: number
}

/** Root with no umask: what a caller outside any process (tests, tools) means. */
export const ROOT_CALLER: Caller = Object.freeze({ uid: 0, gid: 0, umask: 0 })

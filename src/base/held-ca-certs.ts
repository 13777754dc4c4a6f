// Node 20 loads NODE_EXTRA_CA_CERTS (and its own root store with it) as it
// starts, whether or not the process will speak TLS: ~40 ms and 1.7 MiB
// here, on every command. bin/strata starts the lines that never do (a
// mount line, umount, the local commands) without it, the value held in
// STRATA_HELD_CA_CERTS; importing this module puts it back into the
// environment, so that what the process starts (a mount daemon, a spare,
// whose name hashes NODE_*: native/spare-key.cc) has the caller's.
// Imported first by those entry points.

const held = process.env.STRATA_HELD_CA_CERTS
if (held !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = held
  delete process.env.STRATA_HELD_CA_CERTS
}

/**
 * This process started without the caller's extra CA certificates: TLS in
 * it would not trust them (a registry client refuses to start: a line
 * bin/strata routes wrongly is a bug to say, not an untrusted certificate).
 */
export const caCertsHeld = held !== undefined && held !== ''

// A lone "-" names stdin (docker's and tar's habit), but yargs-parser reads
// it as an empty flag and hands the command '' (or true): this puts the "-"
// back. Used as the `coerce` of every positional or option that takes one.
export function stdinWord (v: unknown): string {
  return v === '' || v === true ? '-' : String(v)
}

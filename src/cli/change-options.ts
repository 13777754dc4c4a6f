// The -m/--message and -c/--change options that import and commit share.
import type { Argv } from 'yargs'

export interface ChangeArgs { m?: string, c?: string | string[] }

export function withChanges<T> (y: Argv<T>, message: string): Argv<T & ChangeArgs> {
  return y
    .option('m', { alias: 'message', type: 'string', describe: message })
    .option('c', { alias: 'change', type: 'string', describe: 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR); repeatable' })
}

export const changesOf = (a: ChangeArgs): string[] => (a.c === undefined ? [] : [a.c].flat())

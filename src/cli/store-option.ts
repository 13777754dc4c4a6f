// The --root option every store command takes, and opening the store.
import type { Argv } from 'yargs'
import { Store, defaultRoot } from '../store/store.js'

export interface RootArgs { root?: string }

export function withRoot<T> (y: Argv<T>): Argv<T & RootArgs> {
  return y.option('root', { type: 'string', describe: `store directory (default ${defaultRoot()}, or STRATA_ROOT)` })
}

export function openStore (a: RootArgs): Store {
  return new Store(a.root ?? defaultRoot())
}

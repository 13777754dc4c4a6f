// Options every registry command takes.
import type { Argv } from 'yargs'

export interface RegistryArgs { insecure?: boolean }

export function withRegistry<T> (y: Argv<T>): Argv<T & RegistryArgs> {
  return y.option('insecure', {
    type: 'boolean',
    describe: 'allow plain HTTP to this registry (loopback registries always may; or set STRATA_INSECURE_REGISTRIES=host:port,…)',
  })
}

// The OCI image-spec documents strata reads and writes (manifest, config,
// index), with the media types of both OCI and Docker schema 2.
export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const

export const REF_NAME = 'org.opencontainers.image.ref.name'
/** Our annotation on a layer descriptor: the size of the uncompressed tar. */
export const UNCOMPRESSED_SIZE = 'io.strata.layer.uncompressed-size'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: { architecture: string, os: string, variant?: string }
}

export interface Manifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface HistoryEntry {
  created?: string
  author?: string
  created_by?: string
  comment?: string
  empty_layer?: boolean
}

export interface ContainerConfig {
  User?: string
  ExposedPorts?: Record<string, object>
  Env?: string[]
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, object>
  WorkingDir?: string
  Labels?: Record<string, string>
  StopSignal?: string
  // Docker's fields, outside the OCI spec; `strata build` writes them as docker does.
  /** Durations in nanoseconds; zero ones are left out. */
  Healthcheck?: { Test: string[], Interval?: number, Timeout?: number, StartPeriod?: number, StartInterval?: number, Retries?: number }
  /** ONBUILD triggers, as written after the keyword. */
  OnBuild?: string[] | null
  /** The shell form's command prefix (SHELL). */
  Shell?: string[]
}

export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  os: string
  config?: ContainerConfig
  rootfs: { type: 'layers', diff_ids: string[] }
  history?: HistoryEntry[]
}

export interface ImageIndexDoc {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
}

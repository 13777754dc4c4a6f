// An image's history as `docker history` shows it: newest first, each entry
// with the layer it added (and that layer's uncompressed size) or none.
import type { Image } from './resolve-image.js'

export interface HistoryRow {
  /** The image ID for the newest entry; null for older ones (docker's <missing>). */
  id: string | null
  created?: string
  createdBy: string
  size: number
  comment: string
  author?: string
  emptyLayer: boolean
}

/** The layer's uncompressed size, or its blob's where that is unknown. */
export function layerSize (img: Image, i: number): number {
  return img.tarSizes[i] ?? img.manifest.layers[i]?.size ?? 0
}

export function imageSize (img: Image): number {
  return img.manifest.layers.reduce((s, _, i) => s + layerSize(img, i), 0)
}

export function imageHistory (img: Image): HistoryRow[] {
  const rows: HistoryRow[] = []
  let layer = 0
  for (const h of img.config.history ?? []) {
    const empty = h.empty_layer === true
    rows.push({ id: null, created: h.created, createdBy: h.created_by ?? '', size: empty ? 0 : layerSize(img, layer), comment: h.comment ?? '', author: h.author, emptyLayer: empty })
    if (!empty) layer++
  }
  rows.reverse()
  if (rows.length) rows[0].id = img.configDigest
  return rows
}

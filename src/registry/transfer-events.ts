// What a pull or push tells its watcher, in docker's words: lines of their
// own ("1: Pulling from greeter", "Digest: …") and the state of each layer,
// named by its blob digest ("Pulling fs layer", "Downloading" with bytes,
// "Verifying Checksum", "Download complete", "Extracting", "Pull complete",
// "Already exists"; "Preparing", "Waiting", "Pushing", "Pushed",
// "Layer already exists", "Mounted from …").
export interface TransferEvents {
  line?: (text: string) => void
  layer?: (digest: string, status: string, progress?: { done: number, total: number }) => void
}

/** Runs `fn` on each item, at most `limit` at a time (docker moves 3 layers at once). */
export async function eachLimited<T> (items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown = null
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === null) {
      const i = next++
      try {
        await fn(items[i], i)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed !== null) throw failed
}

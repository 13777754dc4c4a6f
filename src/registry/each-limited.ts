// Bounded concurrency for layer transfers: docker moves 3 layers at once.
/** Runs `fn` on each item, at most `limit` at a time; the first failure is thrown once all have stopped. */
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
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what a task threw, as it threw it
  if (failed !== null) throw failed
}

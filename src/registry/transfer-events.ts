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

// The options of `run` (and `exec`) that take a value, so that main.ts can
// find the image word (everything after it is the container's command)
// without loading the run command's module. Keep it in step with runOptions
// in commands/run.ts, which declares them to yargs.
export const RUN_VALUE_FLAGS = ['--name', '-e', '--env', '-w', '--workdir', '-u', '--user', '--entrypoint', '--hostname', '--root',
  '--cap-add', '--cap-drop', '--security-opt', '--network', '--net', '-v', '--volume', '--mount', '--tmpfs', '-m', '--memory',
  '--pids-limit', '--cpus', '-p', '--publish', '--pull']

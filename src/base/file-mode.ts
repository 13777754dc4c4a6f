// The S_IF* file-type bits of st_mode (sys/stat.h), shared by every layer
// that looks at raw stats: the union, layer tars, the builder, tree removal.
export const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000,
  S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000

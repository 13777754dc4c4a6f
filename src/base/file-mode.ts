// The S_IF* file-type bits of st_mode (sys/stat.h), shared by every layer
// that looks at raw stats: the union, layer tars, the builder, tree removal.
export const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFLNK = 0o120000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000

// The syscalls Node lacks, one JS function each: *at() calls on directory
// fds, mknod, l*xattr, renameat2 flags, getdents, statfs, umount2.
#pragma once
#include <napi.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace strata {
void InitSyscalls(Napi::Env env, Napi::Object exports);
// Stat layout shared with src/native/binding.ts (STAT_* indices there).
constexpr int kStatLen = 16;
void FillStat(double* out, const struct stat& st);
// The other way: a Float64Array of kStatLen from JS into a struct stat.
void ToStat(const Napi::Value& v, struct stat* st);
// statfs layout shared with binding.ts (statfs()): fd's fstatfs into
// o[kStatfsLen], -1 with errno on failure; and those fields as the
// statvfs a STATFS reply carries (both paths answer through these two).
constexpr int kStatfsLen = 9;
int FstatfsFields(int fd, double* o);
void ToStatvfs(const double* o, struct statvfs* s);
}  // namespace strata

// The requests JS answers whole (see js-ops.h).
#include "js-ops.h"
#include "dir-opens.h"
#include "js-requests.h"

namespace strata {
namespace {

void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new LookupCall(parent);
  c->name = name;
  Send(c, req);
}

void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct fuse_forget_data f = {ino, nlookup};
  fuse_reply_none(req);
  QueueForgets(&f, 1);
}

void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* f) {
  QueueForgets(f, count);
  fuse_reply_none(req);
}

void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  auto* c = new MknodCall(parent);
  c->name = name;
  c->mode = mode;
  c->rdev = (double)rdev;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  auto* c = new MkdirCall(parent);
  c->name = name;
  c->mode = mode;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new UnlinkCall(parent);
  c->name = name;
  Send(c, req);
}

void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* c = new RmdirCall(parent);
  c->name = name;
  Send(c, req);
}

void ll_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  auto* c = new SymlinkCall(parent);
  c->name = name;
  c->target = link;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  auto* c = new RenameCall(parent);
  c->name = name;
  c->newName = newname;
  c->newParent = (double)newparent;
  c->flags = flags;
  Send(c, req);
}

void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  auto* c = new LinkCall(ino);
  c->newName = newname;
  c->newParent = (double)newparent;
  Send(c, req);
}

void ll_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  auto* c = new CreateCall(parent);
  c->name = name;
  c->mode = mode;
  c->flags = fi->flags;
  c->caller = CallerOf(req);
  Send(c, req);
}

void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  // An interrupted reply needs no cleanup: the handle holds nothing yet.
  if (OpenDirNative(ino, fi)) { fuse_reply_open(req, fi); return; }
  auto* c = new OpendirCall(ino);
  c->flags = fi->flags;
  Send(c, req);
}

template <typename C>
void SendReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  if (fi && ReaddirAtEndNative(req, fi->fh, off)) return;
  if (fi) DirHandleToJs(fi->fh);
  auto* c = new C(ino);
  c->size = (double)size;
  c->offset = (double)off;
  c->fh = Fh(fi);
  Send(c, req);
}
void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  SendReaddir<ReaddirCall>(req, ino, size, off, fi);
}
void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  SendReaddir<ReaddirplusCall>(req, ino, size, off, fi);
}

void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (fi && ReleaseDirNative(fi->fh)) { fuse_reply_err(req, 0); return; }
  auto* c = new ReleasedirCall(ino);
  c->fh = Fh(fi);
  fuse_reply_err(req, 0);
  Send(c, nullptr);
}

void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  auto* c = new FsyncdirCall(ino);
  c->datasync = datasync;
  c->fh = Fh(fi);
  Send(c, req);
}

void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  auto* c = new SetxattrCall(ino);
  c->name = name;
  c->value.assign(value, value + size);
  c->flags = flags;
  Send(c, req);
}

void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  auto* c = new RemovexattrCall(ino);
  c->name = name;
  Send(c, req);
}

}  // namespace

void AddJsOps(struct fuse_lowlevel_ops* ops, bool noFsync) {
  ops->lookup = ll_lookup;
  ops->forget = ll_forget;
  ops->forget_multi = ll_forget_multi;
  ops->mknod = ll_mknod;
  ops->mkdir = ll_mkdir;
  ops->unlink = ll_unlink;
  ops->rmdir = ll_rmdir;
  ops->symlink = ll_symlink;
  ops->rename = ll_rename;
  ops->link = ll_link;
  ops->create = ll_create;
  ops->opendir = ll_opendir;
  ops->readdir = ll_readdir;
  ops->readdirplus = ll_readdirplus;
  ops->releasedir = ll_releasedir;
  ops->fsyncdir = noFsync ? nullptr : ll_fsyncdir;
  ops->setxattr = ll_setxattr;
  ops->removexattr = ll_removexattr;
}

}  // namespace strata

#include "quotad/common/secret_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace quotad {

absl::StatusOr<bool> CreateSecretFileIfAbsent(const std::string& path,
                                              absl::string_view contents) {
  if (::access(path.c_str(), F_OK) == 0) return false;
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", tmp));
  bool ok = ::write(fd, contents.data(), contents.size()) ==
                static_cast<ssize_t>(contents.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  bool created = false;
  if (ok) {
    // link() fails with EEXIST if another process created it first; then
    // theirs is used.
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      ok = false;
    }
  }
  ::unlink(tmp.c_str());
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  return created;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace quotad

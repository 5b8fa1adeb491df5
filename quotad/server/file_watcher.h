// Re-reads a few small files every interval and calls back when any
// content changed: how a node picks up a policy or callers file replaced
// under it (a Kubernetes ConfigMap or Secret volume swaps its files) without
// a SIGHUP. Compares contents, not timestamps; a file that cannot be read
// counts as empty. The callback runs on the watcher's thread and decides
// what a bad new content means (quotad keeps the serving policy).
#ifndef QUOTAD_SERVER_FILE_WATCHER_H_
#define QUOTAD_SERVER_FILE_WATCHER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace quotad {

class FileWatcher {
 public:
  // Reads `paths` now (the baseline), then every `interval` on a thread.
  FileWatcher(std::vector<std::string> paths, absl::Duration interval,
              std::function<void()> on_change);
  ~FileWatcher();  // stops and joins the thread
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

 private:
  std::vector<std::string> ReadAll() const;

  const std::vector<std::string> paths_;
  const absl::Duration interval_;
  const std::function<void()> on_change_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quotad

#endif  // QUOTAD_SERVER_FILE_WATCHER_H_

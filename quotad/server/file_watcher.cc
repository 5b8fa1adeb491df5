#include "quotad/server/file_watcher.h"

#include <fstream>
#include <sstream>

namespace quotad {

FileWatcher::FileWatcher(std::vector<std::string> paths, absl::Duration interval,
                         std::function<void()> on_change)
    : paths_(std::move(paths)), interval_(interval), on_change_(std::move(on_change)) {
  thread_ = std::thread([this, seen = ReadAll()]() mutable {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) {
      std::vector<std::string> now = ReadAll();
      if (now == seen) continue;
      seen = std::move(now);
      on_change_();
    }
  });
}

FileWatcher::~FileWatcher() {
  stop_.Notify();
  thread_.join();
}

std::vector<std::string> FileWatcher::ReadAll() const {
  std::vector<std::string> out;
  for (const std::string& path : paths_) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    if (in) buffer << in.rdbuf();
    out.push_back(buffer.str());
  }
  return out;
}

}  // namespace quotad

// A RocksDB FileSystem that fails writes on demand, for storage-fault tests:
// while a fault is set, creating, appending to, flushing and syncing any
// file opened for writing returns it (NoSpace for a full disk, IOError for
// EIO); reads and deletes keep working, as on a real full disk. Clearing
// the fault makes the same files writable again. Thread-safe.
#ifndef QUOTAD_TESTS_TESTING_FAULT_FS_H_
#define QUOTAD_TESTS_TESTING_FAULT_FS_H_

#include <atomic>
#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace quotad::testing {

enum class DiskFault { kNone, kNoSpace, kIoError };

class FaultInjectingFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FaultInjectingFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  const char* Name() const override { return "FaultInjectingFileSystem"; }
  void SetFault(DiskFault fault) { fault_.store(fault); }
  // Writes refused so far (any file).
  int refused() const { return refused_.load(); }
  // The status a write gets now (OK without a fault); counts refusals.
  rocksdb::IOStatus WriteStatus();

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  rocksdb::IOStatus Wrap(rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);

  std::atomic<DiskFault> fault_{DiskFault::kNone};
  std::atomic<int> refused_{0};
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_FAULT_FS_H_

#include "tests/testing/fault_fs.h"

namespace quotad::testing {
namespace {

// Forwards to the real file unless the file system has a fault set.
class FaultyWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultInjectingFileSystem* fs)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Flush(options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->WriteStatus(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }

 private:
  FaultInjectingFileSystem* fs_;
};

}  // namespace

rocksdb::IOStatus FaultInjectingFileSystem::WriteStatus() {
  switch (fault_.load()) {
    case DiskFault::kNone:
      return rocksdb::IOStatus::OK();
    case DiskFault::kNoSpace:
      ++refused_;
      return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    case DiskFault::kIoError:
      ++refused_;
      return rocksdb::IOStatus::IOError("injected: input/output error");
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FaultInjectingFileSystem::Wrap(rocksdb::IOStatus opened,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (!opened.ok()) return opened;
  *result = std::make_unique<FaultyWritableFile>(std::move(*result), this);
  return opened;
}

rocksdb::IOStatus FaultInjectingFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (auto s = WriteStatus(); !s.ok()) return s;
  return Wrap(target()->NewWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus FaultInjectingFileSystem::ReopenWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (auto s = WriteStatus(); !s.ok()) return s;
  return Wrap(target()->ReopenWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus FaultInjectingFileSystem::ReuseWritableFile(
    const std::string& name, const std::string& old_name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (auto s = WriteStatus(); !s.ok()) return s;
  return Wrap(target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
}

}  // namespace quotad::testing

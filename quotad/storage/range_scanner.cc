#include "quotad/storage/range_scanner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "quotad/storage/rocksdb_status.h"

namespace quotad {

void RangeScanner::Reset() {
  absl::MutexLock lock(&mu_);
  it_.reset();
  last_key_.clear();
}

void RangeScanner::ReleaseIfIdle() {
  absl::MutexLock lock(&mu_);
  if (it_ != nullptr && absl::Now() - created_ >= kMaxViewAge) {
    it_.reset();
    last_key_.clear();
  }
}

absl::StatusOr<CounterStore::ScanProgress> RangeScanner::Scan(
    absl::Span<const std::string> prefixes, uint32_t min_hour, uint32_t max_hour,
    absl::string_view start_after, size_t max_keys,
    const std::function<bool(const SlotValue&)>& fn) {
  absl::MutexLock lock(&mu_);
  CounterStore::ScanProgress progress;
  progress.last_key = std::string(start_after);
  if (prefixes.empty()) {
    progress.exhausted = true;
    return progress;
  }
  const rocksdb::Slice after(start_after.data(), start_after.size());
  const bool resume = !start_after.empty() && it_ != nullptr && last_key_ == start_after &&
                      absl::Now() - created_ < kMaxViewAge && it_->Valid() &&
                      it_->key() == after;
  if (resume) {
    it_->Next();
  } else {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;  // prefixes shorter than the extractor's
    it_.reset(db_->NewIterator(ro, cf_));
    created_ = absl::Now();
    if (start_after.empty()) {
      it_->Seek(prefixes.front());
    } else {
      it_->Seek(after);
      if (it_->Valid() && it_->key() == after) it_->Next();
    }
  }
  size_t p = 0;  // the first prefix not entirely behind the iterator
  size_t visited = 0;
  bool stopped = false;
  while (it_->Valid() && visited < max_keys && !stopped) {
    const rocksdb::Slice key = it_->key();
    while (p < prefixes.size() && !key.starts_with(prefixes[p]) &&
           key.compare(rocksdb::Slice(prefixes[p])) > 0) {
      ++p;  // the key is past this range
    }
    if (p == prefixes.size()) break;
    if (!key.starts_with(prefixes[p])) {
      it_->Seek(prefixes[p]);  // a gap between the ranges asked for
      continue;
    }
    ++visited;
    progress.last_key.assign(key.data(), key.size());
    auto slot = SlotKey::Decode(absl::string_view(key.data(), key.size()));
    if (slot && slot->hour >= min_hour && slot->hour <= max_hour) {
      stopped = !fn(SlotValue{*slot, DecodeCounterValue(it_->value().data(), it_->value().size())});
    }
    if (!stopped && visited < max_keys) it_->Next();
  }
  if (!it_->status().ok()) {
    absl::Status s = FromRocks(it_->status(), "scan slots");
    it_.reset();
    return s;
  }
  progress.exhausted = !stopped && visited < max_keys;
  last_key_ = progress.last_key;
  if (progress.exhausted) it_.reset();  // nothing to resume: release the view
  return progress;
}

}  // namespace quotad

// Replicator, part 2: anti-entropy (digests, refinement, paged pulls) and
// the sketches' start-up rebuild.
#include "quotad/replication/replicator.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/replication/peer_limits.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

constexpr size_t kMaxPullSlots = 1 << 16;
// Keys one pull page may examine (pages filter by hour and origin), and how
// long it may scan: a page ends early rather than outlive the caller's
// deadline on a busy node.
constexpr size_t kMaxKeysPerPullPage = 100000;
constexpr absl::Duration kMaxPullPageTime = absl::Milliseconds(250);
constexpr int kMaxExcludedOrigins = 64;

}  // namespace

absl::Status Replicator::RebuildDigests() {
  // Sketches only serve peers; a standalone node skips the full scan.
  if (peers_.empty()) return absl::OkStatus();
  size_t slots = 0;
  auto visited = store_->ScanSlots("", 0, UINT32_MAX, "", SIZE_MAX, [&](const SlotValue& v) {
    digests_.Add(v.key, v.value);
    ++slots;
    return true;
  });
  if (!visited.ok()) return visited.status();
  QUOTAD_LOG(INFO) << "replication: " << slots << " live slots, " << peers_.size() << " peers";
  return absl::OkStatus();
}

void Replicator::InitialSync(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (size_t i = 0; i < peers_.size() && absl::Now() < deadline; ++i) {
    if (absl::Status s = AntiEntropyWith(i, deadline, /*full=*/true); !s.ok()) {
      QUOTAD_LOG(INFO) << "initial sync with " << peers_[i]->link.config().node_id << ": "
                       << s.message();
    }
  }
}

Replicator::HourWindow Replicator::LiveDayWindow() const {
  const absl::Time now = clock_->Now();
  // The days a month window reads (kMinDayRetention, less its oldest day,
  // which may expire mid-exchange on a peer keeping no more), and a peer's
  // skew. Older day buckets (usage meters) are final: push carried them.
  return {BucketsBefore(BucketOf(BucketUnit::kDay, now), kMinDayRetention - 2),
          BucketOf(BucketUnit::kDay, now + options_.max_clock_skew)};
}

Replicator::HourWindow Replicator::LiveWindow() const {
  const absl::Time now = clock_->Now();
  const int64_t retention = policy_->Current()->retention_hours();
  const uint32_t to = HourOf(now + options_.max_clock_skew);
  // Skip the oldest live hour: it may expire mid-exchange on one side.
  int64_t from = int64_t{HourOf(now)} - retention + 2;
  from = std::max<int64_t>(from, int64_t{to} - (SlotDigests::kHours - 1));
  return {static_cast<uint32_t>(std::max<int64_t>(from, 0)), to};
}

namespace {

// What Digest and PullRange both check: the range list (ascending, unique,
// each a valid range) and the number of origins to leave out.
absl::Status CheckRangesAndExclusions(const google::protobuf::RepeatedField<uint32_t>& ranges,
                                      int exclusions) {
  if (exclusions > kMaxExcludedOrigins) {
    return absl::InvalidArgumentError("exclude_origins: at most 64");
  }
  for (int i = 0; i < ranges.size(); ++i) {
    if (ranges[i] >= static_cast<uint32_t>(SlotDigests::kRanges) ||
        (i > 0 && ranges[i] <= ranges[i - 1])) {
      return absl::InvalidArgumentError("ranges: must ascend, each below 768");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::DigestResponse> Replicator::HandleDigest(const v1::DigestRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request));
  if (request.to_hour() < request.from_hour() ||
      request.to_hour() - request.from_hour() >= SlotDigests::kHours ||
      UnitOf(request.from_hour()) != UnitOf(request.to_hour()) ||
      UnitOf(request.from_hour()) == BucketUnit::kMinute) {
    return Malformed(absl::InvalidArgumentError(
        "to_hour: window must be 1..64 hour or day buckets (minute buckets are not compared)"));
  }
  if (absl::Status s = CheckRangesAndExclusions(request.ranges(), request.exclude_origins_size());
      !s.ok()) {
    return Malformed(s);
  }
  // Day windows are compared whole (SlotDigests keeps no origin's days apart).
  const std::vector<uint64_t> excluded =
      UnitOf(request.from_hour()) == BucketUnit::kDay
          ? std::vector<uint64_t>{}
          : digests_.Separable(std::vector<uint64_t>(request.exclude_origins().begin(),
                                                     request.exclude_origins().end()));
  v1::DigestResponse response;
  for (uint64_t o : excluded) response.add_excluded_origins(o);
  if (request.ranges_size() > 0) {
    const std::vector<uint32_t> ranges(request.ranges().begin(), request.ranges().end());
    for (uint64_t d :
         digests_.ComputeHours(ranges, request.from_hour(), request.to_hour(), excluded)) {
      response.add_hour_digests(d);
    }
    return response;
  }
  for (uint64_t d : digests_.Compute(request.from_hour(), request.to_hour(), excluded)) {
    response.add_range_digests(d);
  }
  QUOTAD_ASSIGN_OR_RETURN(uint64_t records_digest, RecordsDigest());
  response.set_records_digest(records_digest);
  return response;
}

absl::StatusOr<v1::PullRangeResponse> Replicator::HandlePullRange(
    const v1::PullRangeRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request));
  if (request.ranges_size() == 0 &&
      request.range() >= static_cast<uint32_t>(SlotDigests::kRanges)) {
    return Malformed(absl::InvalidArgumentError("range: out of bounds"));
  }
  if (absl::Status s = CheckRangesAndExclusions(request.ranges(), request.exclude_origins_size());
      !s.ok()) {
    return Malformed(s);
  }
  if (request.to_hour() < request.from_hour()) {
    return Malformed(absl::InvalidArgumentError("to_hour: before from_hour"));
  }
  if (request.hours_size() > SlotDigests::kHours) {
    return Malformed(absl::InvalidArgumentError("hours: at most 64"));
  }
  std::vector<std::string> prefixes;
  if (request.ranges_size() == 0) {
    prefixes.push_back(SlotDigests::RangePrefix(static_cast<int>(request.range())));
  }
  for (uint32_t r : request.ranges()) {
    prefixes.push_back(SlotDigests::RangePrefix(static_cast<int>(r)));
  }
  const absl::flat_hash_set<uint32_t> hours(request.hours().begin(), request.hours().end());
  const absl::flat_hash_set<uint64_t> excluded(request.exclude_origins().begin(),
                                               request.exclude_origins().end());
  const size_t max_slots = std::clamp<size_t>(
      request.max_slots() == 0 ? kMaxPullSlots : request.max_slots(), 1, kMaxPullSlots);
  v1::PullRangeResponse response;
  size_t bytes = 0;
  const absl::Time page_deadline = absl::Now() + kMaxPullPageTime;
  QUOTAD_ASSIGN_OR_RETURN(
      CounterStore::ScanProgress progress,
      store_->ScanSlotRanges(prefixes, request.from_hour(), request.to_hour(),
                             request.start_after(), kMaxKeysPerPullPage, [&](const SlotValue& v) {
                               if ((!hours.empty() && !hours.contains(v.key.hour)) ||
                                   excluded.contains(v.key.origin)) {
                                 return true;
                               }
                               v1::Slot* slot = response.add_slots();
                               slot->set_key(v.key.Encode());
                               slot->set_value(v.value);
                               bytes += slot->ByteSizeLong() + 3;  // + tag and length
                               return bytes < kPeerBatchBytes &&
                                      static_cast<size_t>(response.slots_size()) < max_slots &&
                                      absl::Now() < page_deadline;
                             }));
  response.set_done(progress.exhausted);
  response.set_resume_after(progress.last_key);
  return response;
}

std::vector<uint64_t> Replicator::PushedOrigins(absl::Time now) const {
  std::vector<uint64_t> origins = {store_->origin()};
  for (const auto& peer : peers_) {
    if (auto o = peer->link.HealthyInboundOrigin(now, InboundFreshness())) origins.push_back(*o);
  }
  return digests_.Separable(origins);
}

absl::Duration Replicator::InboundFreshness() const {
  return std::max(absl::Seconds(10), 2 * options_.anti_entropy_interval);
}

absl::Status Replicator::AntiEntropyWith(size_t index, absl::Time deadline, bool full) {
  Peer& peer = *peers_[index];
  const HourWindow window = LiveWindow();
  const absl::Time now = absl::Now();
  // Origins whose changes reach this node by push are left out of the
  // comparison (under load they always differ by what is in flight); a full
  // round (start-up) leaves out only this node's own slot. The drop count is
  // read first: a drop reported later is repaired by a later round. The
  // peer's origin counts as repaired only if this round really compared it
  // (it is not in `exclude`, whatever is reported meanwhile).
  const uint64_t drops_before = peer.link.inbound_drops();
  const std::vector<uint64_t> exclude =
      full ? digests_.Separable({store_->origin()}) : PushedOrigins(now);
  const std::optional<uint64_t> peer_origin = peer.link.inbound_origin();
  const bool repairs_peer_origin =
      !peer_origin || std::find(exclude.begin(), exclude.end(), *peer_origin) == exclude.end();
  RoundCalls calls{this, peer, deadline};

  v1::DigestResponse remote;
  QUOTAD_ASSIGN_OR_RETURN(int differing, RepairWindow(calls, window, exclude, &remote));
  QUOTAD_ASSIGN_OR_RETURN(uint64_t local_records, RecordsDigest());
  if (local_records != remote.records_digest()) {
    QUOTAD_RETURN_IF_ERROR(PullRecordsFrom(calls));
  }
  // Day buckets (calendar-month counters): compared whole, nothing left out.
  v1::DigestResponse days;
  QUOTAD_ASSIGN_OR_RETURN(int differing_days, RepairWindow(calls, LiveDayWindow(), {}, &days));
  if (repairs_peer_origin) peer.link.MarkInboundRepaired(drops_before);
  peer.link.CountAntiEntropy(static_cast<uint64_t>(differing + differing_days));
  return absl::OkStatus();
}

absl::StatusOr<int> Replicator::RepairWindow(RoundCalls& calls, HourWindow window,
                                             const std::vector<uint64_t>& exclude,
                                             v1::DigestResponse* remote) {
  v1::DigestRequest digest_request = calls.Header<v1::DigestRequest>();
  digest_request.set_from_hour(window.from);
  digest_request.set_to_hour(window.to);
  for (uint64_t o : exclude) digest_request.add_exclude_origins(o);
  QUOTAD_RETURN_IF_ERROR(calls.Run(&PeerChannel::Digest, digest_request, remote));
  if (remote->range_digests_size() != SlotDigests::kRanges) {
    return Malformed(absl::DataLossError("digest response has the wrong number of ranges"));
  }
  const std::vector<uint64_t> applied(remote->excluded_origins().begin(),
                                      remote->excluded_origins().end());
  for (uint64_t o : applied) {
    if (std::find(exclude.begin(), exclude.end(), o) == exclude.end()) {
      return Malformed(absl::DataLossError("digest response left out an origin not asked for"));
    }
  }
  const std::vector<uint64_t> local = digests_.Compute(window.from, window.to, applied);
  v1::DigestRequest refine = digest_request;
  refine.clear_exclude_origins();
  for (uint64_t o : applied) refine.add_exclude_origins(o);
  for (int r = 0; r < SlotDigests::kRanges; ++r) {
    if (local[static_cast<size_t>(r)] != remote->range_digests(r)) {
      refine.add_ranges(static_cast<uint32_t>(r));
    }
  }
  if (refine.ranges_size() > 0) {
    QUOTAD_RETURN_IF_ERROR(PullDiffering(calls, window, refine));
  }
  return refine.ranges_size();
}

absl::Status Replicator::PullDiffering(RoundCalls& calls, HourWindow window,
                                       const v1::DigestRequest& refine) {
  // Refine: which hours of the differing ranges differ.
  v1::DigestResponse remote;
  QUOTAD_RETURN_IF_ERROR(calls.Run(&PeerChannel::Digest, refine, &remote));
  const std::vector<uint32_t> ranges(refine.ranges().begin(), refine.ranges().end());
  const std::vector<uint64_t> excluded(refine.exclude_origins().begin(),
                                       refine.exclude_origins().end());
  const uint32_t hours = window.to - window.from + 1;
  if (static_cast<size_t>(remote.hour_digests_size()) != ranges.size() * hours) {
    return Malformed(absl::DataLossError("refined digest response has the wrong number of cells"));
  }
  const std::vector<uint64_t> local =
      digests_.ComputeHours(ranges, window.from, window.to, excluded);
  v1::PullRangeRequest pull = calls.Header<v1::PullRangeRequest>();
  pull.set_from_hour(window.from);
  pull.set_to_hour(window.to);
  for (uint64_t o : excluded) pull.add_exclude_origins(o);
  absl::flat_hash_set<uint32_t> differing_hours;
  for (size_t i = 0; i < ranges.size(); ++i) {
    bool differs = false;
    for (uint32_t h = 0; h < hours; ++h) {
      const size_t cell = i * hours + h;
      if (local[cell] == remote.hour_digests(static_cast<int>(cell))) continue;
      differs = true;
      differing_hours.insert(window.from + h);
    }
    if (differs) pull.add_ranges(ranges[i]);
  }
  if (pull.ranges_size() == 0) return absl::OkStatus();  // settled meanwhile
  std::vector<uint32_t> sorted_hours(differing_hours.begin(), differing_hours.end());
  std::sort(sorted_hours.begin(), sorted_hours.end());
  for (uint32_t h : sorted_hours) pull.add_hours(h);
  return PullPages(calls, pull);
}

absl::Status Replicator::PullPages(RoundCalls& calls, v1::PullRangeRequest pull) {
  const absl::flat_hash_set<uint32_t> ranges(pull.ranges().begin(), pull.ranges().end());
  const absl::flat_hash_set<uint32_t> hours(pull.hours().begin(), pull.hours().end());
  const absl::flat_hash_set<uint64_t> excluded(pull.exclude_origins().begin(),
                                               pull.exclude_origins().end());
  for (;;) {
    v1::PullRangeResponse page;
    QUOTAD_RETURN_IF_ERROR(calls.Run(&PeerChannel::PullRange, pull, &page));
    std::vector<SlotValue> slots;
    slots.reserve(static_cast<size_t>(page.slots_size()));
    for (const v1::Slot& slot : page.slots()) {
      auto key = SlotKey::Decode(slot.key());
      if (!key || !ranges.contains(static_cast<uint32_t>(SlotDigests::RangeOf(key->id))) ||
          !hours.contains(key->hour) || excluded.contains(key->origin)) {
        return Malformed(absl::DataLossError("pulled slot outside the requested ranges"));
      }
      if (slot.value() > kMaxSlotValue) {
        return Malformed(absl::DataLossError(
            absl::StrCat("pulled slot value ", slot.value(), " is above ", kMaxSlotValue)));
      }
      slots.push_back({*key, slot.value()});
    }
    calls.peer.link.CountPulled(slots.size(), page.ByteSizeLong());
    if (!slots.empty()) {
      size_t rejected = 0;
      QUOTAD_RETURN_IF_ERROR(ApplyInChunks(std::move(slots), &rejected).status());
    }
    if (page.done()) return absl::OkStatus();
    if (page.resume_after() <= pull.start_after()) {
      return Malformed(absl::DataLossError("pull page does not advance"));
    }
    pull.set_start_after(page.resume_after());
  }
}

void Replicator::AntiEntropyLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&lifecycle_mu_);
      lifecycle_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.anti_entropy_interval);
      if (stopping_) return;
    }
    store_->ReleaseIdleScans();  // a peer that gave up paging leaves a view behind
    const absl::Time deadline =
        absl::Now() + std::max(options_.anti_entropy_interval, options_.anti_entropy_round_timeout);
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (absl::Status s = AntiEntropyWith(i, deadline); !s.ok()) {
        QUOTAD_LOG(DEBUG) << "anti-entropy with " << peers_[i]->link.config().node_id << ": "
                          << s;
      }
    }
  }
}

}  // namespace quotad

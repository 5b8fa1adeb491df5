// PeerLink without sockets: byte-bounded batches whatever the backlog,
// acknowledgement semantics, back-off on RESOURCE_EXHAUSTED, dropping
// batches a peer refuses for good, and health transitions.
#include "quotad/replication/peer_link.h"

#include <cstring>

#include "gtest/gtest.h"
#include "quotad/replication/peer_limits.h"

namespace quotad {
namespace {

SlotKey Key(uint32_t i) {
  SlotKey k;
  k.id.space = KeySpace::kClient;
  for (size_t b = 0; b < k.id.hash.size(); ++b) k.id.hash[b] = static_cast<uint8_t>(i >> (b % 4 * 8));
  k.hour = 490000;
  k.origin = 77;
  return k;
}

void QueueMany(PeerLink& link, uint32_t n, uint64_t value) {
  std::vector<SlotKey> keys;
  std::vector<uint64_t> values;
  for (uint32_t i = 0; i < n; ++i) {
    keys.push_back(Key(i));
    values.push_back(value);
  }
  link.QueueSlots(keys, values, absl::Now());
}

v1::ReplicatedRecord Record(const std::string& key, size_t value_bytes) {
  v1::ReplicatedRecord r;
  r.set_key(key);
  r.set_value(std::string(value_bytes, 'v'));
  r.set_hlc(1000);
  r.set_node_id("n1");
  return r;
}

TEST(PeerLinkTest, EveryBatchStaysWithinTheByteBudgetWhateverTheBacklog) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1 << 22);
  QueueMany(link, 200000, 5);  // ~10 MB of slots
  for (int i = 0; i < 40; ++i) link.QueueRecord(Record("ban/" + std::to_string(i), 60 << 10));
  size_t slots = 0;
  int records = 0;
  int batches = 0;
  while (auto batch = link.NextBatch("n1", 77)) {
    EXPECT_EQ(batch->bytes, batch->request.ByteSizeLong());
    EXPECT_LE(batch->bytes, kPeerBatchBytes);
    EXPECT_GT(batch->request.slots_size() + batch->request.records_size(), 0);
    slots += batch->slots.size();
    records += batch->request.records_size();
    ++batches;
    EXPECT_FALSE(link.NextBatch("n1", 77).has_value()) << "one push in flight at a time";
    const bool more = link.Finish(*batch, absl::OkStatus(), absl::Now());
    if (!more) break;
  }
  EXPECT_EQ(slots, 200000u);
  EXPECT_EQ(records, 40);
  EXPECT_GT(batches, 9);
  EXPECT_EQ(link.pending_slots(), 0u);
}

TEST(PeerLinkTest, AFailedPushKeepsItsSlotsAndALargerValueOutlivesAnOlderAck) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1000);
  QueueMany(link, 10, 5);
  auto batch = link.NextBatch("n1", 77);
  ASSERT_TRUE(batch.has_value());
  EXPECT_FALSE(link.Finish(*batch, absl::UnavailableError("connection refused"), absl::Now()));
  EXPECT_EQ(link.pending_slots(), 10u);
  batch = link.NextBatch("n1", 77);
  ASSERT_TRUE(batch.has_value());
  QueueMany(link, 1, 9);  // slot 0 grew while the batch was in flight
  EXPECT_TRUE(link.Finish(*batch, absl::OkStatus(), absl::Now()));
  EXPECT_EQ(link.pending_slots(), 1u);
  batch = link.NextBatch("n1", 77);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->request.slots_size(), 1);
  EXPECT_EQ(batch->request.slots(0).value(), 9u);
}

TEST(PeerLinkTest, ResourceExhaustedHalvesTheBudgetAndSuccessRestoresIt) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1 << 22);
  QueueMany(link, 100000, 5);
  auto batch = link.NextBatch("n1", 77);
  ASSERT_TRUE(batch.has_value());
  link.Finish(*batch, absl::ResourceExhaustedError("message larger than max"), absl::Now());
  EXPECT_EQ(link.batch_budget(), kPeerBatchBytes / 2);
  for (int i = 0; i < 10; ++i) {
    batch = link.NextBatch("n1", 77);
    link.Finish(*batch, absl::ResourceExhaustedError("message larger than max"), absl::Now());
  }
  EXPECT_EQ(link.batch_budget(), kPeerMinBatchBytes);
  batch = link.NextBatch("n1", 77);
  EXPECT_LE(batch->bytes, kPeerMinBatchBytes);
  link.Finish(*batch, absl::OkStatus(), absl::Now());
  EXPECT_EQ(link.batch_budget(), 2 * kPeerMinBatchBytes);
}

TEST(PeerLinkTest, ABatchThePeerRefusesForGoodIsDroppedAndCounted) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1000);
  QueueMany(link, 10, 5);
  auto batch = link.NextBatch("n1", 77);
  EXPECT_FALSE(link.Finish(*batch, absl::InvalidArgumentError("slots[3].key: malformed"),
                           absl::Now()));
  EXPECT_EQ(link.pending_slots(), 0u);
  v1::PeerState state;
  link.FillState(absl::Now(), &state);
  EXPECT_EQ(state.batches_dropped(), 1u);
  EXPECT_EQ(state.errors_by_code().at("INVALID_ARGUMENT"), 1u);
}

TEST(PeerLinkTest, HealthFollowsTheLastExchangeAndErrorsAreCountedByCode) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1000);
  EXPECT_FALSE(link.up());
  link.RecordContact(absl::OkStatus(), absl::Now());
  EXPECT_TRUE(link.up());
  link.RecordContact(absl::UnavailableError("connection refused"), absl::Now());
  link.RecordContact(absl::UnavailableError("connection refused"), absl::Now());
  link.RecordContact(absl::DeadlineExceededError("deadline"), absl::Now());
  EXPECT_FALSE(link.up());
  v1::PeerState state;
  link.FillState(absl::Now(), &state);
  EXPECT_EQ(state.errors(), 3u);
  EXPECT_EQ(state.errors_by_code().at("UNAVAILABLE"), 2u);
  EXPECT_EQ(state.errors_by_code().at("DEADLINE_EXCEEDED"), 1u);
  EXPECT_NE(state.last_error().find("DEADLINE_EXCEEDED"), std::string::npos);
  link.RecordContact(absl::OkStatus(), absl::Now());
  EXPECT_TRUE(link.up());
}

TEST(PeerLinkTest, AQueuePastItsBoundIsDroppedForAntiEntropy) {
  PeerLink link({"n2", "127.0.0.1:1"}, 100);
  QueueMany(link, 101, 1);
  EXPECT_EQ(link.pending_slots(), 0u);
  v1::PeerState state;
  link.FillState(absl::Now(), &state);
  EXPECT_EQ(state.overflows(), 1u);
}

}  // namespace
}  // namespace quotad

namespace quotad {
namespace {

v1::Admission Admitted(uint32_t i, bool refunded = false) {
  v1::Admission a;
  std::string key(16, '\0');
  std::memcpy(key.data(), &i, sizeof(i));
  a.set_key(key);
  a.set_expires_unix_micros(1);
  a.set_record(refunded ? "refunded" : "admitted");
  return a;
}

TEST(PeerLinkTest, AdmissionsGoBeforeSlotsAndOnlyTheAcknowledgedVersionLeaves) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1 << 20);
  QueueMany(link, 3, 1);
  link.QueueAdmission(Admitted(1));
  auto batch = link.NextBatch("n1", 77);
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->request.admissions_size(), 1);
  EXPECT_EQ(batch->request.slots_size(), 3);
  EXPECT_EQ(batch->bytes, batch->request.ByteSizeLong());
  // Refunded while the first version was in flight: the newer one stays.
  link.QueueAdmission(Admitted(1, /*refunded=*/true));
  EXPECT_TRUE(link.Finish(*batch, absl::OkStatus(), absl::Now()));  // more is queued
  auto next = link.NextBatch("n1", 77);
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(next->request.admissions_size(), 1);
  EXPECT_EQ(next->request.admissions(0).record(), "refunded");
  EXPECT_FALSE(link.Finish(*next, absl::OkStatus(), absl::Now()));
  EXPECT_FALSE(link.NextBatch("n1", 77).has_value());
}

TEST(PeerLinkTest, QueuedAdmissionsAreBoundedAndTheDropsCounted) {
  PeerLink link({"n2", "127.0.0.1:1"}, 1 << 20);
  for (uint32_t i = 0; i < kMaxPendingAdmissions + 10; ++i) link.QueueAdmission(Admitted(i));
  v1::PeerState state;
  link.FillState(absl::Now(), &state);
  EXPECT_EQ(state.pending_admissions(), kMaxPendingAdmissions);
  EXPECT_EQ(state.admissions_dropped(), 10u);
  // A newer version of a queued one still replaces it.
  link.QueueAdmission(Admitted(5, /*refunded=*/true));
  link.FillState(absl::Now(), &state);
  EXPECT_EQ(state.admissions_dropped(), 10u);
}

}  // namespace
}  // namespace quotad

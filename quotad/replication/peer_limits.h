// Limits of the peer (gossip) surface, in one place for both ends: the
// largest slot value a peer may claim, and message sizes: the peer listener's receive limit and the byte budget of every batch
// a node sends or serves. A batch is bounded by its encoded size, never by an
// item count, so no backlog can build a message the receiver refuses.
#ifndef QUOTAD_REPLICATION_PEER_LIMITS_H_
#define QUOTAD_REPLICATION_PEER_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace quotad {

// Largest message the peer listener accepts, and the largest response a peer
// channel accepts. Set explicitly on both ends (gRPC's defaults differ per
// direction and per version).
inline constexpr int kPeerMaxMessageBytes = 4 << 20;

// Encoded-size budget of one Push batch or one PullRange / PullRecords page:
// a quarter of the receive limit, so a peer running an older or smaller
// limit still has room, and one batch keeps a receiver's merge short.
inline constexpr size_t kPeerBatchBytes = 1 << 20;

// The smallest budget a sender backs off to after RESOURCE_EXHAUSTED (a peer
// configured with a smaller limit). Larger than the largest single record
// (1 KiB key + 64 KiB value), so every item still fits in a batch.
inline constexpr size_t kPeerMinBatchBytes = 96 << 10;

// The largest slot value (one origin's count of one counter in one hour) a
// peer may send; a batch or page with a larger one is refused whole
// (INVALID_ARGUMENT, counted as malformed) and nothing of it is applied. A
// real slot stays far below it (10^12 is 280 million charges a second for an
// hour), and the sum of up to 2^23 slots at the bound still fits the int64
// counts are read as, so no value a peer sends can overflow a count or,
// cast to int64, turn negative and lift a limit.
inline constexpr uint64_t kMaxSlotValue = uint64_t{1} << 40;

// Admitted request_ids queued for one peer (about 200 bytes each). Past it
// new ones are dropped for that peer (counted): admissions are not repaired
// by anti-entropy, so after a longer outage a retry of an older request_id
// on that peer is charged again.
inline constexpr size_t kMaxPendingAdmissions = 1 << 16;

// The longest an admission pushed by a peer may claim to live.
inline constexpr absl::Duration kMaxAdmissionTtl = absl::Hours(24 * 7);

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_PEER_LIMITS_H_

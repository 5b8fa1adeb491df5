// Which node keeps a counter's escrow ledger (docs/consistency.md
// "Escrow"): rendezvous hashing of the counter over the cluster's node ids,
// so every node that has the same node list names the same owner, and a
// node leaving or joining moves only the counters it owns or comes to own.
// Pure and stable across processes, machines and builds.
#ifndef QUOTAD_ESCROW_OWNER_H_
#define QUOTAD_ESCROW_OWNER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace quotad::escrow {

// A fixed 64-bit digest of a node id (FNV-1a).
uint64_t NodeDigest(absl::string_view node_id);

// The index in `node_digests` (NodeDigest of each node id, one per node, in
// any fixed order) of the owner of the counter whose keyed hash begins with
// the 8 bytes `counter_key` (read big-endian, so every machine agrees): the
// highest score, ties to the lower index. -1 for an empty list.
int OwnerOf(uint64_t counter_key, absl::Span<const uint64_t> node_digests);

}  // namespace quotad::escrow

#endif  // QUOTAD_ESCROW_OWNER_H_

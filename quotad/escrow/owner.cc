#include "quotad/escrow/owner.h"

namespace quotad::escrow {
namespace {

// splitmix64's finalizer: a bijective mix with full avalanche.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t NodeDigest(absl::string_view node_id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : node_id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

int OwnerOf(uint64_t counter_key, absl::Span<const uint64_t> node_digests) {
  int best = -1;
  uint64_t best_score = 0;
  for (size_t i = 0; i < node_digests.size(); ++i) {
    const uint64_t score = Mix(counter_key ^ Mix(node_digests[i]));
    if (best < 0 || score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

}  // namespace quotad::escrow

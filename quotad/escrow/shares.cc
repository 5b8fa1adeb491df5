#include "quotad/escrow/shares.h"

#include <algorithm>
#include <numeric>

namespace quotad::escrow {

int64_t ImplicitShare(int64_t limit, int nodes, int node, int owner) {
  const int64_t each = limit / nodes;
  return node == owner ? limit - each * (nodes - 1) : each;
}

void HolderShare::OnView(const LedgerView& view) {
  if (view.version <= version_) return;
  version_ = view.version;
  std::erase_if(pending_, [&](const Release& r) { return r.seq <= view.released_seq; });
  int64_t unapplied = 0;
  for (const Release& r : pending_) unapplied += r.amount;
  share_ = view.share - unapplied;
}

Release HolderShare::ReleaseUnused(int64_t used) {
  const int64_t unused = share_ - std::max<int64_t>(used, 0);
  if (unused <= 0) return {};
  share_ -= unused;
  Release r{unused, next_seq_++};
  pending_.push_back(r);
  return r;
}

ShareLedger::ShareLedger(int64_t limit, int nodes, int owner)
    : limit_(limit),
      owner_(owner),
      shares_(static_cast<size_t>(nodes)),
      implicit_(static_cast<size_t>(nodes)),
      released_(static_cast<size_t>(nodes), 0),
      versions_(static_cast<size_t>(nodes), 0) {
  for (int r = 0; r < nodes; ++r) {
    implicit_[static_cast<size_t>(r)] = ImplicitShare(limit, nodes, r, owner);
  }
  shares_ = implicit_;
}

int64_t ShareLedger::Free() const {
  return limit_ - std::accumulate(shares_.begin(), shares_.end(), int64_t{0});
}

LedgerView ShareLedger::View(int node) const {
  const auto i = static_cast<size_t>(node);
  return {versions_[i], shares_[i], released_[i]};
}

int64_t ShareLedger::Grant(int node, int64_t want, int64_t owner_used) {
  const auto asker = static_cast<size_t>(node);
  const auto owner = static_cast<size_t>(owner_);
  // The owner's own unused share goes to an asker that is not the owner.
  if (node != owner_) {
    const int64_t spare = shares_[owner] - std::max<int64_t>(owner_used, 0);
    if (spare > 0) {
      shares_[owner] -= spare;
      ++versions_[owner];
    }
  }
  const int64_t free = Free();
  if (free <= 0 || free < want) return 0;
  bool others_hold_more = false;
  for (size_t r = 0; r < shares_.size(); ++r) {
    if (r != asker && r != owner && shares_[r] > implicit_[r]) others_hold_more = true;
  }
  const int64_t grant = std::max(want, others_hold_more ? (free + 1) / 2 : free);
  shares_[asker] += grant;
  ++versions_[asker];
  return grant;
}

bool ShareLedger::ApplyRelease(int node, const Release& release) {
  const auto i = static_cast<size_t>(node);
  if (release.seq <= released_[i] || release.amount <= 0) return false;
  // Releases are applied in order; one arriving past a gap waits (the holder
  // sends its pending releases again, in order).
  if (release.seq != released_[i] + 1) return false;
  released_[i] = release.seq;
  shares_[i] -= release.amount;
  ++versions_[i];
  return true;
}

std::vector<int> ShareLedger::ReclaimCandidates(int asker) const {
  std::vector<int> out;
  for (size_t r = 0; r < shares_.size(); ++r) {
    if (static_cast<int>(r) != asker && static_cast<int>(r) != owner_ && shares_[r] > 0) {
      out.push_back(static_cast<int>(r));
    }
  }
  return out;
}

}  // namespace quotad::escrow

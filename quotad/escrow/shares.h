// Escrow of a limit's rights among the nodes of a cluster: the pure core of
// docs/consistency.md "Escrow" (being built; nothing serves through it yet).
//
// For one escrowed counter with limit L, every node r holds a share g_r of
// the right to admit; the counter's owner keeps the ledger of all shares
// (ShareLedger), each node its own copy (HolderShare). A node admits cost k
// iff FitsShare(u_r, k, g_r), u_r being its own net usage in the window.
//
// Invariant (what every operation here keeps, and escrow_test checks over
// random interleavings with lost, delayed and repeated messages):
//   sum over r of ledger g_r <= L,  holder g_r <= ledger g_r,  u_r <= holder g_r
// hence sum over r of u_r <= L: no overshoot. Grants are taken from the
// ledger's free rest before the holder learns them; releases are lowered at
// the holder before the ledger hears of them, idempotently (per-holder
// sequence numbers). Pure: no I/O, no clock, no locks; callers persist and
// transport what these decide.
#ifndef QUOTAD_ESCROW_SHARES_H_
#define QUOTAD_ESCROW_SHARES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quotad::escrow {

// The local rule: cost `k` fits a node whose own usage is `used` and whose
// share is `share`.
inline bool FitsShare(int64_t used, int64_t k, int64_t share) { return used + k <= share; }

// What every node holds of a counter nobody has asked about yet: floor(L/N),
// the owner also the rest, so first tests in a client's home need no message.
int64_t ImplicitShare(int64_t limit, int nodes, int node, int owner);

// A release: `amount` given back by a holder, numbered per holder from 1.
struct Release {
  int64_t amount = 0;
  uint64_t seq = 0;
};

// What the owner tells a holder of its share (with every grant reply): the
// ledger's share for that node, the last release of the node it had applied,
// and a version that grows with every change of that node's share (replies
// may arrive out of order or twice).
struct LedgerView {
  uint64_t version = 0;
  int64_t share = 0;
  uint64_t released_seq = 0;
};

// A node's own copy of its share of one counter.
class HolderShare {
 public:
  explicit HolderShare(int64_t share) : share_(share) {}
  int64_t share() const { return share_; }
  // A reply from the owner. An older or repeated view is ignored; otherwise
  // the copy becomes the ledger's share less the releases the owner had not
  // applied yet, so it is never above what the ledger will hold.
  void OnView(const LedgerView& view);
  // Gives back everything unused (`used`: the node's usage in the window),
  // lowered here at once. Nothing unused: amount 0, no sequence consumed.
  Release ReleaseUnused(int64_t used);
  // Releases the owner has not acknowledged (send them again, in order).
  const std::vector<Release>& pending() const { return pending_; }

 private:
  int64_t share_;
  uint64_t version_ = 0;
  uint64_t next_seq_ = 1;
  std::vector<Release> pending_;
};

// The owner's ledger of one counter.
class ShareLedger {
 public:
  // Every node at its implicit share.
  ShareLedger(int64_t limit, int nodes, int owner);

  int64_t limit() const { return limit_; }
  int64_t share(int node) const { return shares_[static_cast<size_t>(node)]; }
  // L - sum of shares; negative after a lowered limit until reclaimed.
  int64_t Free() const;
  // What a reply to `node` carries.
  LedgerView View(int node) const;

  // `node` needs `want` more than it holds. Grants all of the free rest when
  // no other node holds more than its implicit share (the asker is the
  // client's home), else half of it; at least `want` when that much is free,
  // nothing otherwise. `owner_used` is the owner's own usage: its unused
  // share beyond what it uses is given too when the asker is not the owner.
  // Returns the amount granted (the ledger already counts it). The owner's
  // own admissions must be ordered with this call (one lock), and its own
  // HolderShare take View(owner) right after it.
  int64_t Grant(int node, int64_t want, int64_t owner_used);
  // Applies a release once; a repeated or older one is ignored (returns
  // false).
  bool ApplyRelease(int node, const Release& release);
  // Nodes other than `asker` holding shares (whom to ask for their unused
  // rights when the free rest cannot cover a need).
  std::vector<int> ReclaimCandidates(int asker) const;
  // A new limit (policy, override): shares stay; Free() may turn negative,
  // and grants stop until releases bring it back to >= 0.
  void SetLimit(int64_t limit) { limit_ = limit; }

 private:
  int64_t limit_;
  int owner_;
  std::vector<int64_t> shares_;
  std::vector<int64_t> implicit_;
  std::vector<uint64_t> released_;
  std::vector<uint64_t> versions_;
};

}  // namespace quotad::escrow

#endif  // QUOTAD_ESCROW_SHARES_H_

// The escrow core (quotad/escrow/shares.h): its invariant over random
// interleavings of admissions, asks, grants, releases and window slides,
// with messages delayed, reordered, repeated and lost; and what a grant
// gives to whom.
#include <array>
#include <deque>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quotad/escrow/owner.h"
#include "quotad/escrow/shares.h"

namespace quotad::escrow {
namespace {

// N nodes, one counter; node `owner` keeps the ledger. Messages sit in one
// queue and are delivered in random order, some twice, some never.
class Cluster {
 public:
  Cluster(int64_t limit, int nodes, int owner, uint32_t seed)
      : limit_(limit), owner_(owner), ledger_(limit, nodes, owner), gen_(seed) {
    for (int r = 0; r < nodes; ++r) {
      holders_.emplace_back(ImplicitShare(limit, nodes, r, owner));
      used_.push_back(0);
    }
  }

  // One random step; false once an invariant broke (with `why`).
  bool Step(std::string* why) {
    const int r = Pick(static_cast<int>(holders_.size()));
    switch (Pick(6)) {
      case 0:
      case 1:
        Admit(r);
        break;
      case 2:  // a window slides past one of r's admissions (or a refund)
        if (used_[r] > 0) --used_[r];
        break;
      case 3:  // r gives back what it does not use (asked to, or idle)
        if (r != owner_) {
          const Release rel = holders_[r].ReleaseUnused(used_[r]);
          if (rel.amount > 0) Send({Msg::kRelease, r, rel, {}});
        }
        break;
      case 4:  // r sends its unacknowledged releases again
        for (const Release& rel : holders_[r].pending()) Send({Msg::kRelease, r, rel, {}});
        break;
      default:
        Deliver();
        break;
    }
    return Check(why);
  }

  // Every message delivered, every release resent and every holder told its
  // ledger share: no right is stranded.
  void Quiesce() {
    for (int round = 0; round < 4; ++round) {
      for (size_t r = 0; r < holders_.size(); ++r) {
        for (const Release& rel : holders_[r].pending()) {
          ledger_.ApplyRelease(static_cast<int>(r), rel);
        }
        holders_[r].OnView(ledger_.View(static_cast<int>(r)));
      }
    }
    queue_.clear();
  }

  int64_t admitted() const { return admitted_; }
  int64_t asks() const { return asks_; }
  const ShareLedger& ledger() const { return ledger_; }
  const std::vector<HolderShare>& holders() const { return holders_; }
  const std::vector<int64_t>& used() const { return used_; }

 private:
  struct Msg {
    enum Kind { kAsk, kView, kRelease } kind;
    int node;
    Release release;  // kRelease
    LedgerView view;  // kView
  };

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen_); }
  void Send(Msg m) { queue_.push_back(m); }

  void Admit(int r) {
    if (FitsShare(used_[r], 1, holders_[r].share())) {
      ++used_[r];
      ++admitted_;
      return;
    }
    ++asks_;
    if (r == owner_) return AnswerAsk(r);  // the owner asks itself: no message
    Send({Msg::kAsk, r, {}, {}});
  }

  // At the owner, under the lock that orders its own admissions.
  void AnswerAsk(int r) {
    ledger_.Grant(r, 1, used_[owner_]);
    holders_[owner_].OnView(ledger_.View(owner_));
    if (r != owner_) Send({Msg::kView, r, {}, ledger_.View(r)});
  }

  void Deliver() {
    if (queue_.empty()) return;
    const size_t i = static_cast<size_t>(Pick(static_cast<int>(queue_.size())));
    const Msg m = queue_[i];
    const int fate = Pick(10);  // 0: lost; 1: delivered and kept (a repeat later)
    if (fate != 1) queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
    if (fate == 0) return;
    switch (m.kind) {
      case Msg::kAsk:
        AnswerAsk(m.node);
        break;
      case Msg::kView:
        holders_[m.node].OnView(m.view);
        break;
      case Msg::kRelease:
        ledger_.ApplyRelease(m.node, m.release);
        // The owner answers every message with the sender's view.
        Send({Msg::kView, m.node, {}, ledger_.View(m.node)});
        break;
    }
  }

  bool Check(std::string* why) {
    int64_t granted = 0, used = 0;
    for (size_t r = 0; r < holders_.size(); ++r) {
      const int node = static_cast<int>(r);
      granted += ledger_.share(node);
      used += used_[r];
      if (holders_[r].share() > ledger_.share(node)) {
        *why = absl::StrCat("node ", r, " holds ", holders_[r].share(), " > ledger ",
                            ledger_.share(node));
        return false;
      }
      if (used_[r] > holders_[r].share()) {
        *why = absl::StrCat("node ", r, " used ", used_[r], " > its share ", holders_[r].share());
        return false;
      }
    }
    if (granted > limit_) {
      *why = absl::StrCat("ledger grants ", granted, " > limit ", limit_);
      return false;
    }
    if (used > limit_) {
      *why = absl::StrCat("OVERSHOOT: ", used, " used > limit ", limit_);
      return false;
    }
    return true;
  }

  int64_t limit_;
  int owner_;
  ShareLedger ledger_;
  std::vector<HolderShare> holders_;
  std::vector<int64_t> used_;
  std::deque<Msg> queue_;
  std::mt19937 gen_;
  int64_t admitted_ = 0;
  int64_t asks_ = 0;
};

TEST(EscrowModelTest, NoOvershootAndNoStrandedRightsUnderAnyInterleaving) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    const int64_t limit = std::array<int64_t, 4>{1, 4, 7, 40}[seed % 4];
    const int nodes = seed % 2 == 0 ? 3 : 5;
    Cluster c(limit, nodes, static_cast<int>(seed % nodes), seed);
    std::string why;
    for (int step = 0; step < 3000; ++step) {
      ASSERT_TRUE(c.Step(&why)) << "seed " << seed << " step " << step << ": " << why;
    }
    c.Quiesce();
    // Quiet: every holder's copy is the ledger's, and giving back what is
    // unused leaves exactly the usage granted.
    int64_t used = 0;
    for (size_t r = 0; r < c.holders().size(); ++r) {
      EXPECT_EQ(c.holders()[r].share(), c.ledger().share(static_cast<int>(r)))
          << "seed " << seed << " node " << r;
      used += c.used()[r];
    }
    EXPECT_GE(c.ledger().Free(), 0) << "seed " << seed;
    EXPECT_LE(used, limit) << "seed " << seed;
    EXPECT_GT(c.admitted(), 0) << "seed " << seed;
  }
}

TEST(EscrowTest, ImplicitSharesSplitTheLimitAndTheOwnerKeepsTheRest) {
  EXPECT_EQ(ImplicitShare(40, 3, 0, 1), 13);
  EXPECT_EQ(ImplicitShare(40, 3, 1, 1), 14);
  EXPECT_EQ(ImplicitShare(4, 5, 2, 0), 0);
  EXPECT_EQ(ImplicitShare(4, 5, 0, 0), 4);
  ShareLedger ledger(40, 3, 1);
  EXPECT_EQ(ledger.Free(), 0);
  EXPECT_TRUE(FitsShare(12, 1, 13));
  EXPECT_FALSE(FitsShare(13, 1, 13));
}

TEST(EscrowTest, TheHomeGetsAllThatIsFreeAndTheOwnersSpareARoamerHalf) {
  ShareLedger ledger(40, 3, 0);  // 14 / 13 / 13
  // Node 1 used its 13; the owner used 2 of its 14: it gets the owner's 12.
  EXPECT_EQ(ledger.Grant(1, 1, /*owner_used=*/2), 12);
  EXPECT_EQ(ledger.share(1), 25);
  EXPECT_EQ(ledger.share(0), 2);
  EXPECT_EQ(ledger.Free(), 0);
  EXPECT_EQ(ledger.Grant(2, 1, 2), 0);  // nothing free: reclaim first
  EXPECT_EQ(ledger.ReclaimCandidates(2), std::vector<int>{1});
  // Node 1 gives back 10 unused; node 2 (while node 1 holds more than its
  // implicit share) gets half of what is free.
  HolderShare holder(25);
  const Release rel = holder.ReleaseUnused(/*used=*/15);
  EXPECT_EQ(rel.amount, 10);
  EXPECT_TRUE(ledger.ApplyRelease(1, rel));
  EXPECT_FALSE(ledger.ApplyRelease(1, rel));  // a repeat changes nothing
  EXPECT_EQ(ledger.Grant(2, 1, 2), 5);
  EXPECT_EQ(ledger.Free(), 5);
}

TEST(EscrowTest, AStaleOrReorderedViewNeverRaisesAHoldersCopy) {
  ShareLedger ledger(10, 2, 0);          // 5 / 5
  ledger.Grant(1, 1, /*owner_used=*/5);  // nothing spare, nothing free
  EXPECT_EQ(ledger.share(1), 5);
  ShareLedger big(20, 2, 0);  // 10 / 10
  HolderShare h(10);
  big.Grant(1, 1, 0);  // the owner's 10 spare go to node 1: 20
  const LedgerView granted = big.View(1);
  const Release rel = h.ReleaseUnused(/*used=*/4);  // gives back 6 before hearing
  EXPECT_EQ(h.share(), 4);
  h.OnView(granted);  // the grant, not yet counting the release: 20 - 6
  EXPECT_EQ(h.share(), 14);
  ASSERT_TRUE(big.ApplyRelease(1, rel));
  const LedgerView after = big.View(1);
  h.OnView(after);
  EXPECT_EQ(h.share(), 14);
  h.OnView(granted);  // late repeat of the older view: ignored
  EXPECT_EQ(h.share(), 14);
  EXPECT_TRUE(h.pending().empty());
}

TEST(EscrowTest, ALoweredLimitStopsGrantsUntilReleasesCoverIt) {
  ShareLedger ledger(40, 2, 0);  // 20 / 20
  ledger.SetLimit(30);
  EXPECT_EQ(ledger.Free(), -10);
  EXPECT_EQ(ledger.Grant(1, 1, /*owner_used=*/20), 0);
  HolderShare holder(20);
  ASSERT_TRUE(ledger.ApplyRelease(1, holder.ReleaseUnused(/*used=*/5)));
  EXPECT_EQ(ledger.Free(), 5);
  EXPECT_EQ(ledger.Grant(1, 1, 20), 5);
}

TEST(EscrowOwnerTest, EveryNodeNamesTheSameOwnerEvenlyAndALeavingNodeMovesOnlyItsOwn) {
  const std::vector<std::string> ids = {"syd-1", "fra-1", "iad-1", "gru-1", "nrt-1"};
  std::vector<uint64_t> digests;
  for (const auto& id : ids) digests.push_back(NodeDigest(id));
  EXPECT_EQ(NodeDigest("a"), 0xaf63dc4c8601ec8cULL);  // FNV-1a's test vector: stable everywhere
  EXPECT_EQ(OwnerOf(42, {}), -1);
  std::mt19937_64 gen(7);
  std::vector<int> owned(ids.size(), 0);
  constexpr int kCounters = 50000;
  std::vector<uint64_t> keys(kCounters);
  for (auto& k : keys) k = gen();
  for (uint64_t k : keys) ++owned[static_cast<size_t>(OwnerOf(k, digests))];
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_NEAR(owned[i], kCounters / 5, kCounters / 5 * 0.05) << ids[i];
  }
  // Without gru-1 (index 3): its counters move, no other counter does.
  std::vector<uint64_t> four = digests;
  four.erase(four.begin() + 3);
  for (uint64_t k : keys) {
    const int before = OwnerOf(k, digests);
    const int after = OwnerOf(k, four);
    if (before == 3) continue;
    EXPECT_EQ(before, after >= 3 ? after + 1 : after) << "key " << k;
  }
}

}  // namespace
}  // namespace quotad::escrow

#include "quotad/replication/peers.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace quotad {

absl::StatusOr<std::vector<PeerConfig>> ParsePeers(absl::string_view spec,
                                                   absl::string_view self_node_id) {
  std::vector<PeerConfig> peers;
  absl::flat_hash_set<std::string> seen;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers: '", entry, "' is not node_id=host:port"));
    }
    PeerConfig peer{std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1))};
    const size_t colon = peer.address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == peer.address.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers: '", peer.address, "' of ", peer.node_id, " needs host:port"));
    }
    if (!seen.insert(peer.node_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("peers: duplicate node id ", peer.node_id));
    }
    if (peer.node_id != self_node_id) peers.push_back(std::move(peer));
  }
  return peers;
}

}  // namespace quotad

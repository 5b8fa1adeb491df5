// The gossip apply path (Replicator::HandlePush) on arbitrary PushRequest
// bytes, against a whole node (FuzzNode) with the production record kinds.
// The first input byte chooses how much of the request is kept as sent:
//   bit 0 clear: sender fields as given (the sender and key checks);
//         set: filled in as the configured peer n2 would send them;
//   bit 1 set:   every 30-byte slot key gets the request's from_origin, so
//                inputs reach the merge instead of the origin check.
// Holds: a refused push is an error with a message and changes nothing a
// peer could compare (slot sketches, records digest); an applied one
// accounts for no more slots than it carried.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "quotad/storage/keys.h"
#include "tests/fuzz/fuzz_node.h"

namespace quotad::fuzz {
namespace {

void PointSlotsAtSender(v1::PushRequest* request) {
  std::string origin;
  AppendBigEndian64(&origin, request->from_origin());
  for (v1::Slot& slot : *request->mutable_slots()) {
    std::string* key = slot.mutable_key();
    if (key->size() == kCounterKeySize) key->replace(CounterId::kEncodedSize + 4, 8, origin);
  }
}

}  // namespace
}  // namespace quotad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  if (size == 0) return 0;
  v1::PushRequest request;
  if (!request.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  fuzz::FuzzNode& node = fuzz::FuzzNode::Get();
  if (data[0] & 1) node.Authenticate(&request);
  if (data[0] & 2) fuzz::PointSlotsAtSender(&request);

  const std::string before = node.StateDigest();
  auto response = node.replicator().HandlePush(request);
  if (!response.ok()) {
    fuzz::FuzzCheck(!response.status().message().empty(), "an error without a message");
    fuzz::FuzzCheck(response.status().code() != absl::StatusCode::kInternal &&
                        response.status().code() != absl::StatusCode::kUnknown,
                    absl::StrCat("internal error: ", response.status().ToString()));
    fuzz::FuzzCheck(node.StateDigest() == before,
                    absl::StrCat("a refused push changed state: ", response.status().ToString()));
    return 0;
  }
  fuzz::FuzzCheck(response->applied() + response->stale() <=
                      static_cast<uint64_t>(request.slots_size()),
                  "more slots applied than sent");
  return 0;
}

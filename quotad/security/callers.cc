#include "quotad/security/callers.h"

#include <openssl/sha.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "quotad/common/textproto_errors.h"
#include "quotad/v1/callers.pb.h"

namespace quotad {
namespace {

using google::protobuf::TextFormat;

std::optional<Role> ParseRole(absl::string_view name) {
  if (name == "charge") return Role::kCharge;
  if (name == "read") return Role::kRead;
  if (name == "admin") return Role::kAdmin;
  if (name == "admin_read") return Role::kAdminRead;
  return std::nullopt;
}

// "<source>:<line>: principals[i].<field>: <message>", the line of the
// field when known, else of the principal.
class Reporter {
 public:
  Reporter(absl::string_view source, const TextFormat::ParseInfoTree& tree)
      : source_(source), tree_(tree) {}
  absl::Status Error(int index, absl::string_view field, int field_index,
                     absl::string_view message) const {
    const auto* principals = v1::Callers::descriptor()->FindFieldByName("principals");
    int line = tree_.GetLocation(principals, index).line;
    if (const auto* nested = tree_.GetTreeForNested(principals, index)) {
      const auto* f = v1::Principal::descriptor()->FindFieldByName(std::string(field));
      // ParseInfoTree wants an index exactly for repeated fields (a wrong
      // one is fatal); a repeated field named as a whole has no one line.
      if (f != nullptr && f->is_repeated() == (field_index >= 0)) {
        const int at = nested->GetLocation(f, field_index).line;
        if (at >= 0) line = at;
      }
    }
    const std::string where =
        field_index >= 0 ? absl::StrCat(field, "[", field_index, "]") : std::string(field);
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", line + 1, ": principals[", index,
                                                   "].", where, ": ", message));
  }

 private:
  std::string source_;
  const TextFormat::ParseInfoTree& tree_;
};

}  // namespace

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::shared_ptr<const CallerTable>> CallerTable::FromText(
    absl::string_view text, absl::string_view source_name) {
  v1::Callers proto;
  TextFormat::Parser parser;
  FirstTextprotoError errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &proto)) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", errors.first()));
  }
  const Reporter report(source_name, tree);
  auto table = std::make_shared<CallerTable>();
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < proto.principals_size(); ++i) {
    const v1::Principal& p = proto.principals(i);
    if (p.name().empty()) return report.Error(i, "name", -1, "required");
    if (!names.insert(p.name()).second) {
      return report.Error(i, "name", -1, absl::StrCat("'", p.name(), "' is listed twice"));
    }
    Principal principal{p.name(), 0};
    if (p.roles_size() == 0) return report.Error(i, "roles", -1, "at least one role is required");
    for (int r = 0; r < p.roles_size(); ++r) {
      const std::optional<Role> role = ParseRole(p.roles(r));
      if (!role) {
        return report.Error(i, "roles", r,
                            absl::StrCat("unknown role '", p.roles(r),
                                         "' (charge, read, admin, admin_read)"));
      }
      principal.roles |= static_cast<uint8_t>(*role);
    }
    const size_t index = table->principals_.size();
    switch (p.credential_case()) {
      case v1::Principal::kTokenSha256: {
        const std::string hex = absl::AsciiStrToLower(p.token_sha256());
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
          return report.Error(i, "token_sha256", -1, "must be 64 hex digits (sha256sum of the token)");
        }
        if (hex == Sha256Hex("")) {
          return report.Error(i, "token_sha256", -1,
                              "is the SHA-256 of an empty token, which never authenticates (hash "
                              "a real token: sha256sum of a file of random bytes)");
        }
        if (!table->by_token_sha256_.emplace(hex, index).second) {
          return report.Error(i, "token_sha256", -1, "the same token is listed twice");
        }
        break;
      }
      case v1::Principal::kCertName:
        if (p.cert_name().empty()) return report.Error(i, "cert_name", -1, "must not be empty");
        if (!table->by_cert_name_.emplace(p.cert_name(), index).second) {
          return report.Error(i, "cert_name", -1, "the same certificate name is listed twice");
        }
        break;
      default:
        return report.Error(i, "name", -1, "needs token_sha256 or cert_name");
    }
    table->principals_.push_back(std::move(principal));
  }
  return std::shared_ptr<const CallerTable>(std::move(table));
}

absl::StatusOr<std::shared_ptr<const CallerTable>> CallerTable::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read callers file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return FromText(buffer.str(), path);
}

const Principal* CallerTable::FindByToken(absl::string_view token) const {
  if (token.empty()) return nullptr;
  auto it = by_token_sha256_.find(Sha256Hex(token));
  return it == by_token_sha256_.end() ? nullptr : &principals_[it->second];
}

const Principal* CallerTable::FindByCertificate(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    if (auto it = by_cert_name_.find(name); it != by_cert_name_.end()) {
      return &principals_[it->second];
    }
  }
  return nullptr;
}

}  // namespace quotad

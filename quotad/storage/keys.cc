#include "quotad/storage/keys.h"

#include <cstring>

namespace quotad {

std::string EncodeCounterValue(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t DecodeCounterValue(const char* data, size_t size) {
  if (size != 8) return 0;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[i]);
  return v;
}

void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t ReadBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t ReadBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string CounterId::Encode() const {
  std::string out;
  out.reserve(kEncodedSize);
  out.push_back(static_cast<char>(space));
  out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return out;
}

std::optional<CounterId> CounterId::Decode(absl::string_view bytes) {
  if (bytes.size() != kEncodedSize) return std::nullopt;
  const auto space = static_cast<uint8_t>(bytes[0]);
  if (space < 1 || space > 3) return std::nullopt;
  CounterId id;
  id.space = static_cast<KeySpace>(space);
  std::memcpy(id.hash.data(), bytes.data() + 1, id.hash.size());
  return id;
}

std::string EncodeCounterKey(const CounterId& id, uint32_t hour, uint64_t origin, CountKind kind) {
  std::string key;
  key.reserve(kCounterKeySize);
  key.push_back(static_cast<char>(id.space));
  key.append(reinterpret_cast<const char*>(id.hash.data()), id.hash.size());
  AppendBigEndian32(&key, hour);
  AppendBigEndian64(&key, origin);
  key.push_back(static_cast<char>(kind));
  return key;
}

std::optional<DecodedCounterKey> DecodeCounterKey(absl::string_view key) {
  if (key.size() != kCounterKeySize) return std::nullopt;
  auto id = CounterId::Decode(key.substr(0, CounterId::kEncodedSize));
  if (!id) return std::nullopt;
  const char kind = key[kCounterKeySize - 1];
  if (kind != static_cast<char>(CountKind::kCharged) && kind != static_cast<char>(CountKind::kRefunded)) {
    return std::nullopt;
  }
  DecodedCounterKey out;
  out.id = *id;
  out.hour = ReadBigEndian32(key.data() + CounterId::kEncodedSize);
  if (!KnownUnit(out.hour)) return std::nullopt;
  out.origin = ReadBigEndian64(key.data() + CounterId::kEncodedSize + 4);
  out.kind = static_cast<CountKind>(kind);
  return out;
}

uint32_t CounterKeyHour(absl::string_view key) {
  return ReadBigEndian32(key.data() + CounterId::kEncodedSize);
}

}  // namespace quotad

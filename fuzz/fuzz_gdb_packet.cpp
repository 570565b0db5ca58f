// Any bytes as a gdbstub's reply stream: the packet decoder must return packets, acks or
// errors within its bound, never crash, loop or grow without limit; whatever it decodes
// must survive a round trip through the encoder. The target-description parser gets the
// same bytes as XML.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sources/gdb_remote.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pagewalk::gdb::Decoded;
  constexpr size_t kMax = 4096;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    const Decoded d = pagewalk::gdb::decode_packet(in, kMax);
    if (d.consumed > in.size()) std::abort();
    if (d.kind == Decoded::Kind::Packet) {
      if (d.payload.size() > kMax) std::abort();
      const std::string again = pagewalk::gdb::encode_packet(d.payload);
      const Decoded back = pagewalk::gdb::decode_packet(again, kMax);
      if (back.kind != Decoded::Kind::Packet || back.payload != d.payload || back.consumed != again.size())
        std::abort();
      (void)pagewalk::gdb::error_reply(d.payload);
    }
    if (d.kind == Decoded::Kind::NeedMore) break;
    if (d.consumed == 0) std::abort();  // every other result makes progress
    in.remove_prefix(d.consumed);
  }
  const std::string xml(reinterpret_cast<const char*>(data), size);
  auto desc = pagewalk::gdb::parse_target_description(
      "target.xml", [&xml](const std::string& annex) -> tl::expected<std::string, std::string> {
        if (annex == "target.xml" || annex == "a.xml") return xml;
        return tl::unexpected(std::string("no such annex"));
      });
  (void)desc;
  (void)pagewalk::gdb::parse_endpoint(std::string_view(xml).substr(0, 64));
  return 0;
}

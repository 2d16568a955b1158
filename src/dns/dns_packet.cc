#include "dns_packet.h"

#include <algorithm>

namespace sipedge::dns {
namespace {

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kTypeSoa = 6;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::size_t kHeaderSize = 12;

// A cursor that never reads past the end: every read checks first and reports the offset.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

  std::size_t offset() const { return pos_; }

  bool u16(std::uint16_t& out) {
    if (data_.size() - pos_ < 2) {
      return false;
    }
    out = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }

  bool u32(std::uint32_t& out) {
    if (data_.size() - pos_ < 4) {
      return false;
    }
    out = (static_cast<std::uint32_t>(data_[pos_]) << 24) |
          (static_cast<std::uint32_t>(data_[pos_ + 1]) << 16) |
          (static_cast<std::uint32_t>(data_[pos_ + 2]) << 8) |
          static_cast<std::uint32_t>(data_[pos_ + 3]);
    pos_ += 4;
    return true;
  }

  bool skip(std::size_t n) {
    if (data_.size() - pos_ < n) {
      return false;
    }
    pos_ += n;
    return true;
  }

  // Skips a domain name in place: labels up to the root label, or up to a compression pointer
  // (which ends the name here; it is never followed, so a pointer loop cannot trap us).
  bool skipName() {
    for (std::size_t labels = 0; labels < 128; ++labels) {
      if (pos_ >= data_.size()) {
        return false;
      }
      const std::uint8_t len = data_[pos_];
      if ((len & 0xC0) == 0xC0) {
        return skip(2);
      }
      if ((len & 0xC0) != 0) {
        return false;  // the 0x40 and 0x80 label types are obsolete or unassigned
      }
      if (!skip(1u + len)) {
        return false;
      }
      if (len == 0) {
        return true;
      }
    }
    return false;  // more labels than a 255-byte name can have
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

// RFC 2181 8: a TTL with the most significant bit set is treated as zero.
std::uint32_t saneTtl(std::uint32_t ttl) {
  return (ttl & 0x80000000u) != 0 ? 0 : ttl;
}

std::string brokenAt(std::string_view what, std::size_t offset) {
  return std::string(what) + " at byte " + std::to_string(offset);
}

}  // namespace

Result<MessageTtls, std::string> scanTtls(std::span<const std::uint8_t> message,
                                          std::uint16_t qtype) {
  if (message.size() < kHeaderSize) {
    return fail(brokenAt("truncated header", message.size()));
  }
  Reader r(message);
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;
  if (!r.u16(id) || !r.u16(flags) || !r.u16(qdcount) || !r.u16(ancount) || !r.u16(nscount) ||
      !r.u16(arcount)) {
    return fail(brokenAt("truncated header", r.offset()));
  }
  for (std::uint16_t i = 0; i < qdcount; ++i) {
    if (!r.skipName() || !r.skip(4)) {
      return fail(brokenAt("truncated question", r.offset()));
    }
  }
  MessageTtls out;
  const auto sections = static_cast<std::uint32_t>(ancount) + nscount;
  for (std::uint32_t i = 0; i < sections; ++i) {
    // Only the answer section must be whole. c-ares, which parses the records, reads no further,
    // so a broken record in the authority section ends the scan with what it found, and a
    // malformed SOA there is ignored: neither spoils a usable answer (regress-broken-authority).
    const bool in_answer = i < ancount;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;
    std::uint16_t rdlength = 0;
    if (!r.skipName() || !r.u16(type) || !r.u16(klass) || !r.u32(ttl) || !r.u16(rdlength)) {
      if (!in_answer) {
        break;
      }
      return fail(brokenAt("truncated resource record", r.offset()));
    }
    ttl = saneTtl(ttl);
    const std::size_t rdata_start = r.offset();
    if (!r.skip(rdlength)) {
      if (!in_answer) {
        break;
      }
      return fail(brokenAt("resource data longer than the message", rdata_start));
    }
    if (in_answer && type == qtype &&
        ((qtype == kTypeA && rdlength != 4) || (qtype == kTypeAaaa && rdlength != 16))) {
      return fail(
          brokenAt("address record of " + std::to_string(rdlength) + " bytes", rdata_start));
    }
    if (in_answer && (type == qtype || type == kTypeCname)) {
      out.answer = std::min(out.answer.value_or(ttl), ttl);
    } else if (!in_answer && type == kTypeSoa) {
      // SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 3.3.13).
      Reader soa(message.subspan(rdata_start, rdlength));
      std::uint32_t fields[5] = {};
      if (!soa.skipName() || !soa.skipName() || !soa.u32(fields[0]) || !soa.u32(fields[1]) ||
          !soa.u32(fields[2]) || !soa.u32(fields[3]) || !soa.u32(fields[4])) {
        continue;
      }
      const std::uint32_t negative = std::min(ttl, saneTtl(fields[4]));
      out.negative = std::min(out.negative.value_or(negative), negative);
    }
  }
  return out;
}

}  // namespace sipedge::dns

#include "answer.h"

namespace sipedge::dns {

std::string_view recordTypeName(RecordType type) {
  switch (type) {
    case RecordType::Naptr: return "NAPTR";
    case RecordType::Srv: return "SRV";
    case RecordType::A: return "A";
    case RecordType::Aaaa: return "AAAA";
  }
  return "?";
}

std::string canonicalKey(const LookupKey& key) {
  std::string_view name = key.name;
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  std::string out(recordTypeName(key.type));
  out += ' ';
  for (char c : name) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

}  // namespace sipedge::dns

#pragma once

#include <cstddef>

namespace sipedge::sip {

// Every bound the parser and the stream framer enforce (STYLE S3, S21). Defaults accept every
// valid message of RFC 4475 and typical traffic with wide margins; the configuration overrides
// them (limits.* keys).
struct ParseLimits {
  std::size_t max_message_bytes = 65535;  // whole message: start line, headers, body
  std::size_t max_header_section_bytes = 32768;
  std::size_t max_start_line_bytes = 4096;
  std::size_t max_header_bytes = 8192;  // one header field including folded lines
  std::size_t max_headers = 256;
  std::size_t max_vias = 70;
  std::size_t max_body_bytes = 60000;
};

}  // namespace sipedge::sip

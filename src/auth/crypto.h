#pragma once

// The module's use of OpenSSL's libcrypto, behind three small functions.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "sipedge/auth/digest.h"

namespace sipedge::auth::crypto {

// The lower-case hex digest of the concatenation of `parts`; empty if the hash is unavailable.
std::string hashHex(Algorithm algorithm, std::initializer_list<std::string_view> parts);

// HMAC-SHA256(key, data); false if OpenSSL failed.
bool hmacSha256(std::string_view key, std::string_view data, std::array<std::uint8_t, 32>& out);

// Constant-time equality of two equally long byte strings (false when the lengths differ).
bool equalConstantTime(std::string_view a, std::string_view b);

// `n` bytes from RAND_bytes; false if the generator failed.
bool randomBytes(std::uint8_t* out, std::size_t n);

}  // namespace sipedge::auth::crypto

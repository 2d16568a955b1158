#include "sipedge/ops/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "sipedge/base/assert.h"

namespace sipedge::ops {
namespace {

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// HELP text: backslash and line feed are escaped (the format's rule for docstrings).
void appendEscapedHelp(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values: backslash, double quote and line feed are escaped.
void appendEscapedLabelValue(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

bool isValidMetricName(std::string_view name) {
  if (name.empty() || !(isAlpha(name[0]) || name[0] == '_' || name[0] == ':')) {
    return false;
  }
  for (char c : name) {
    if (!(isAlpha(c) || isDigit(c) || c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

bool isValidLabelName(std::string_view name) {
  if (name.empty() || !(isAlpha(name[0]) || name[0] == '_') || name.starts_with("__")) {
    return false;
  }
  for (char c : name) {
    if (!(isAlpha(c) || isDigit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string formatMetricValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char buf[32];
  // Integer-valued doubles that fit an int64 print as plain integers (no "1e+06", no "-0").
  constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63
  std::to_chars_result r{};
  if (value == std::trunc(value) && value > -kInt64Bound && value < kInt64Bound) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  }
  SIPEDGE_RELEASE_ASSERT(r.ec == std::errc());
  return std::string(buf, r.ptr);
}

void MetricsText::counter(std::string_view name, std::string_view help, double value,
                          const MetricLabels& labels) {
  add(Type::Counter, name, help, value, labels);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value,
                        const MetricLabels& labels) {
  add(Type::Gauge, name, help, value, labels);
}

void MetricsText::add(Type type, std::string_view name, std::string_view help, double value,
                      const MetricLabels& labels) {
  SIPEDGE_RELEASE_ASSERT(isValidMetricName(name));
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f.name == name) {
      family = &f;
      break;
    }
  }
  if (family == nullptr) {
    family = &families_.emplace_back(Family{std::string(name), std::string(help), type, {}});
  } else {
    // One family, one type and one help text.
    SIPEDGE_RELEASE_ASSERT(family->type == type && family->help == help);
  }

  std::string line(name);
  if (!labels.empty()) {
    line += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      SIPEDGE_RELEASE_ASSERT(isValidLabelName(label));
      if (!first) {
        line += ',';
      }
      first = false;
      line += label;
      line += "=\"";
      appendEscapedLabelValue(line, label_value);
      line += '"';
    }
    line += '}';
  }
  line += ' ';
  line += formatMetricValue(value);
  family->samples.push_back(std::move(line));
}

std::string MetricsText::str() const {
  std::string out;
  for (const auto& f : families_) {
    if (!f.help.empty()) {
      out += "# HELP ";
      out += f.name;
      out += ' ';
      appendEscapedHelp(out, f.help);
      out += '\n';
    }
    out += "# TYPE ";
    out += f.name;
    out += f.type == Type::Counter ? " counter\n" : " gauge\n";
    for (const auto& s : f.samples) {
      out += s;
      out += '\n';
    }
  }
  return out;
}

}  // namespace sipedge::ops

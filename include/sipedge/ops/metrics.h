#pragma once

// A builder of the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). The admin listener serves its
// output at /metrics. The builder is a plain value: fill it on one thread, then call str().
//
// Samples of one family (one metric name) are printed together under a single `# HELP` /
// `# TYPE` pair, in the order they were added, even when other families were added in between.
// Families are printed in the order of their first sample. An empty help text omits `# HELP`.
//
// Metric and label names are program constants: a bad one (or one family used with two types or
// two help texts) aborts (SIPEDGE_RELEASE_ASSERT), so a unit test that renders the metrics finds
// it. Label values may come from anywhere: they are escaped. The caller keeps label sets within a
// family unique (Prometheus rejects a scrape with a duplicate series).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipedge::ops {

// (label name, label value) pairs, printed in the given order.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  // A monotonically increasing count. By convention the name ends in `_total`.
  void counter(std::string_view name, std::string_view help, double value,
               const MetricLabels& labels = {});
  // A value that goes up and down (current dialogs, open connections, cache entries).
  void gauge(std::string_view name, std::string_view help, double value,
             const MetricLabels& labels = {});

  // The exposition text: every line ends in '\n'; empty when nothing was added.
  std::string str() const;

 private:
  enum class Type { Counter, Gauge };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<std::string> samples;  // complete lines, without the '\n'
  };
  void add(Type type, std::string_view name, std::string_view help, double value,
           const MetricLabels& labels);

  std::vector<Family> families_;  // in order of first use
};

// Exposed for tests and for callers that check names before use.
bool isValidMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool isValidLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*, not starting "__"
// A sample value as the format prints it: integers without exponent or fraction ("42"),
// NaN, +Inf, -Inf, otherwise the shortest text that reads back as the same double.
std::string formatMetricValue(double value);

}  // namespace sipedge::ops

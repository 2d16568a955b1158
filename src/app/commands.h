#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sipedge::app {

// `sipedge parse [--stream] [--summary] FILE...`
struct ParseCommandOptions {
  std::vector<std::string> files;
  bool stream = false;
  bool summary = false;
};

void addParseCommand(CLI::App& app, ParseCommandOptions& opts);
int runParseCommand(const ParseCommandOptions& opts);

}  // namespace sipedge::app

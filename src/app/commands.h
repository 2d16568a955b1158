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

// `sipedge responder --listen SPEC... [--cert F --key F] [--ca F] [--client-cert MODE]`
struct ResponderCommandOptions {
  std::vector<std::string> listen;
  std::string cert;
  std::string key;
  std::string ca;
  std::string client_cert = "none";
  int workers = 0;
};

void addResponderCommand(CLI::App& app, ResponderCommandOptions& opts);
int runResponderCommand(const ResponderCommandOptions& opts);

}  // namespace sipedge::app

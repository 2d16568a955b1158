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
  std::size_t max_transactions = 0;  // 0: txn::LayerSettings' default
  std::size_t max_connections = 0;   // 0: transport::Limits' defaults, here and below
  std::size_t max_connections_per_ip = 0;
  int idle_timeout_s = 0;
  int tls_handshake_timeout_ms = 0;
};

void addResponderCommand(CLI::App& app, ResponderCommandOptions& opts);
int runResponderCommand(const ResponderCommandOptions& opts);

// `sipedge probe URI [--method M] [--transport T] [--cert F --key F] [--ca F] [--count N] ...`
struct ProbeCommandOptions {
  std::string uri;
  std::string method = "OPTIONS";
  std::string body;
  std::string transport;
  std::string cert;
  std::string key;
  std::string ca;
  int timeout_ms = 5000;
  int count = 1;
  int interval_ms = 200;
  std::string from;
  std::vector<std::string> dns_servers;
  std::string proxy;
};

void addProbeCommand(CLI::App& app, ProbeCommandOptions& opts);
int runProbeCommand(const ProbeCommandOptions& opts);

// `sipedge run --config FILE`
struct RunCommandOptions {
  std::string config;
};

void addRunCommand(CLI::App& app, RunCommandOptions& opts);
int runRunCommand(const RunCommandOptions& opts);

// `sipedge decisions [LOG...] [--config FILE] [--since T] [--until T] [--partner P] [--verdict V]
//  [--rule R] [--method M] [--src ADDR] [--call-id ID] [--summary | --json] [--follow]`
struct DecisionsCommandOptions {
  std::vector<std::string> logs;
  std::string config;
  std::string since;
  std::string until;
  std::vector<std::string> partners;
  std::vector<std::string> verdicts;
  std::vector<std::string> rules;
  std::vector<std::string> methods;
  std::vector<std::string> sources;
  std::vector<std::string> call_ids;
  bool summary = false;
  bool json = false;
  bool follow = false;
};

void addDecisionsCommand(CLI::App& app, DecisionsCommandOptions& opts);
int runDecisionsCommand(const DecisionsCommandOptions& opts);

// `sipedge check-config FILE [--strict] [--quiet]`: validate without starting; exit 0 ok,
// 1 errors, 2 warnings only with --strict.
struct CheckConfigCommandOptions {
  std::string file;
  bool strict = false;
  bool quiet = false;
};

void addCheckConfigCommand(CLI::App& app, CheckConfigCommandOptions& opts);
int runCheckConfigCommand(const CheckConfigCommandOptions& opts);

// `sipedge policy test --config FILE --method M --from URI --to URI [--src IP] [--cert PEM] ...`
struct PolicyCommandOptions {
  std::string config;
  std::string method;
  std::string from;
  std::string to;
  std::string src;
  std::string direction = "inbound";
  std::string transport;
  std::string cert;
  std::string ca;
  std::size_t size = 1000;
  std::string srv_matches;
  bool json = false;
};

void addPolicyCommand(CLI::App& app, PolicyCommandOptions& opts);
int runPolicyCommand(const PolicyCommandOptions& opts);

// `sipedge bindings [AOR] (--config FILE | --database FILE) [--json]`: the location service's
// bindings, read from its SQLite database. Exit 0 listed, 3 the AOR has none, 1 errors, 2 usage.
struct BindingsCommandOptions {
  std::string aor;
  std::string config;
  std::string database;
  bool json = false;
};

void addBindingsCommand(CLI::App& app, BindingsCommandOptions& opts);
int runBindingsCommand(const BindingsCommandOptions& opts);

}  // namespace sipedge::app

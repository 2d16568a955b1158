// sipedge: SIP federation edge gateway. The only main(); subcommands live beside it.

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"sipedge: SIP federation edge gateway (session border controller)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sipedge 0.1.0");

  sipedge::app::ParseCommandOptions parse_opts;
  sipedge::app::addParseCommand(app, parse_opts);
  sipedge::app::ResponderCommandOptions responder_opts;
  sipedge::app::addResponderCommand(app, responder_opts);
  sipedge::app::ProbeCommandOptions probe_opts;
  sipedge::app::addProbeCommand(app, probe_opts);
  sipedge::app::RunCommandOptions run_opts;
  sipedge::app::addRunCommand(app, run_opts);
  sipedge::app::DecisionsCommandOptions decisions_opts;
  sipedge::app::addDecisionsCommand(app, decisions_opts);
  sipedge::app::CheckConfigCommandOptions check_config_opts;
  sipedge::app::addCheckConfigCommand(app, check_config_opts);
  sipedge::app::PolicyCommandOptions policy_opts;
  sipedge::app::addPolicyCommand(app, policy_opts);
  sipedge::app::BindingsCommandOptions bindings_opts;
  sipedge::app::addBindingsCommand(app, bindings_opts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports usage errors by exception; this is the one adapter that converts them.
    // --help and --version exit 0; every usage error exits 2 (commands use 0 and 1).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("parse")) {
    return sipedge::app::runParseCommand(parse_opts);
  }
  if (app.got_subcommand("probe")) {
    return sipedge::app::runProbeCommand(probe_opts);
  }
  if (app.got_subcommand("run")) {
    return sipedge::app::runRunCommand(run_opts);
  }
  if (app.got_subcommand("decisions")) {
    return sipedge::app::runDecisionsCommand(decisions_opts);
  }
  if (app.got_subcommand("check-config")) {
    return sipedge::app::runCheckConfigCommand(check_config_opts);
  }
  if (app.got_subcommand("policy")) {
    return sipedge::app::runPolicyCommand(policy_opts);
  }
  if (app.got_subcommand("bindings")) {
    return sipedge::app::runBindingsCommand(bindings_opts);
  }
  if (app.got_subcommand("responder")) {
    return sipedge::app::runResponderCommand(responder_opts);
  }
  return 2;
}

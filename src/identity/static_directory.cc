#include "sipedge/identity/static_directory.h"

#include <algorithm>

namespace sipedge::identity {

namespace {

// "{user}@host" -> "host" (config::parse guarantees the shape).
std::string hostOf(const std::string& side) {
  return side.substr(side.rfind('@') + 1);
}

Answer found(Aor identity, std::vector<Target> targets) {
  Answer a;
  a.status = Status::Found;
  a.identity = std::move(identity);
  a.targets = std::move(targets);
  return a;
}

}  // namespace

StaticDirectory::StaticDirectory(const config::StaticDirectoryConfig& config)
    : users_(config.users) {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    by_external_.emplace(users_[i].external, i);
    by_internal_.emplace(users_[i].internal, i);
  }
  for (const auto& rule : config.rules) {
    rules_.push_back(Rule{hostOf(rule.external), hostOf(rule.internal)});
  }
}

Answer StaticDirectory::map(Direction direction, const Aor& aor) const {
  const bool inward = direction == Direction::ToInternal;
  const auto& index = inward ? by_external_ : by_internal_;
  if (auto it = index.find(aor.str()); it != index.end()) {
    const auto& user = users_[it->second];
    auto identity = parseAor(inward ? user.internal : user.external);
    if (!identity) {
      return Answer{Status::NotFound, {}, {}, "bad static entry", {}};
    }
    std::vector<Target> targets;
    if (inward) {
      for (const auto& t : user.targets) {
        targets.push_back(Target{t.uri, t.q});
      }
      if (targets.empty()) {
        targets.push_back(Target{"sip:" + identity->str(), 1.0});
      }
      std::stable_sort(targets.begin(), targets.end(),
                       [](const Target& a, const Target& b) { return a.q > b.q; });
    }
    Answer answer = found(std::move(*identity), std::move(targets));
    if (inward) {
      answer.credentials = user.ha1;
    }
    return answer;
  }
  for (const Rule& rule : rules_) {
    const std::string& from = inward ? rule.external_host : rule.internal_host;
    if (aor.host != from) {
      continue;
    }
    Aor identity{aor.user, inward ? rule.internal_host : rule.external_host};
    std::vector<Target> targets;
    if (inward) {
      targets.push_back(Target{"sip:" + identity.str(), 1.0});
    }
    return found(std::move(identity), std::move(targets));
  }
  return Answer{Status::NotFound, {}, {}, {}, {}};
}

std::optional<Answer> StaticDirectory::lookup(Direction direction, const Aor& aor, Callback) {
  ++stats_.lookups;
  return map(direction, aor);
}

}  // namespace sipedge::identity

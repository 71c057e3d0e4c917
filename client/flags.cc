#include "client/flags.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace blimp::client {
namespace {

std::string Canonical(const std::string& name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

}  // namespace

void FlagSet::Add(Flag flag) {
  flag.name = Canonical(flag.name);
  flags_.push_back(std::move(flag));
}

void FlagSet::String(const std::string& name, std::string* value, const std::string& help,
                     const std::string& value_name) {
  Add({name, Kind::kString, value, help, value_name,
       value->empty() ? "" : absl::StrCat("\"", *value, "\"")});
}

void FlagSet::Uint(const std::string& name, uint32_t* value, const std::string& help,
                   const std::string& value_name) {
  Add({name, Kind::kUint, value, help, value_name, absl::StrCat(*value)});
}

void FlagSet::Bool(const std::string& name, bool* value, const std::string& help) {
  Add({name, Kind::kBool, value, help, "", *value ? "true" : ""});
}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  const std::string canonical = Canonical(name);
  for (Flag& flag : flags_) {
    if (flag.name == canonical) return &flag;
  }
  return nullptr;
}

bool FlagSet::seen(const std::string& name) const {
  const std::string canonical = Canonical(name);
  for (const Flag& flag : flags_) {
    if (flag.name == canonical) return flag.seen;
  }
  return false;
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      help_ = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional->push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (flag->kind == Kind::kBool) {
      bool* out = static_cast<bool*>(flag->value);
      if (!has_value) {
        *out = true;
      } else if (!absl::SimpleAtob(value, out)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag->name, " wants true or false, not \"", value, "\""));
      }
      flag->seen = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", flag->name, " needs a value"));
      }
      value = args[++i];
    }
    if (flag->kind == Kind::kString) {
      *static_cast<std::string*>(flag->value) = value;
    } else {
      uint32_t number;
      if (value.empty() || value[0] == '-' || value[0] == '+' ||
          !absl::SimpleAtoi(value, &number)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", flag->name, " wants a non-negative integer, not \"", value, "\""));
      }
      *static_cast<uint32_t*>(flag->value) = number;
    }
    flag->seen = true;
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::vector<std::pair<std::string, const Flag*>> lines;
  size_t width = 0;
  for (const Flag& flag : flags_) {
    std::string left = absl::StrCat("  --", flag.name);
    if (flag.kind != Kind::kBool) absl::StrAppend(&left, " ", flag.value_name);
    width = std::max(width, left.size());
    lines.emplace_back(std::move(left), &flag);
  }
  std::string out;
  for (const auto& [left, flag] : lines) {
    absl::StrAppend(&out, left, std::string(width + 3 - left.size(), ' '), flag->help);
    if (!flag->default_text.empty()) absl::StrAppend(&out, " (default: ", flag->default_text, ")");
    out.push_back('\n');
  }
  return out;
}

}  // namespace blimp::client

#include "api/json_strict.h"

#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/json_string.h"
#include "base/status_macros.h"

namespace blimp::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// The name a field has in contract JSON (ToJson prints the same one).
std::string ContractName(const FieldDescriptor& field) {
  return field.has_json_name() ? field.json_name() : field.name();
}

// google.protobuf.Struct, Value, Timestamp, wrappers...: their JSON form is
// not their fields, so only the generic rules apply.
bool IsWellKnown(const Descriptor& message) {
  return absl::StartsWith(message.file()->name(), "google/protobuf/");
}

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

// One pass over the text; every Check* starts at the first byte of its value
// (whitespace skipped) and ends just after it.
class Checker {
 public:
  explicit Checker(absl::string_view text) : text_(text) {}

  absl::Status CheckDocument(const Descriptor& message) {
    SkipSpace();
    if (AtEnd()) return Syntax("", "empty input: expected a JSON object");
    if (Peek() != '{') {
      return Syntax("", absl::StrCat("expected a JSON object, got ", Describe()));
    }
    if (IsWellKnown(message)) {
      RETURN_IF_ERROR(CheckAnyValue(""));
    } else {
      RETURN_IF_ERROR(CheckMessage(message, ""));
    }
    SkipSpace();
    if (!AtEnd()) return Syntax("", "unexpected text after the JSON object");
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  bool Consume(absl::string_view literal) {
    if (!absl::StartsWith(text_.substr(pos_), literal)) return false;
    pos_ += literal.size();
    return true;
  }

  // What the next value is, for messages.
  std::string Describe() const {
    if (AtEnd()) return "the end of the input";
    switch (Peek()) {
      case '"': return "a string";
      case '{': return "an object";
      case '[': return "an array";
      case 't':
      case 'f': return "a boolean";
      case 'n': return "null";
      default:
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) return "a number";
        return absl::StrCat("'", absl::string_view(&text_[pos_], 1), "'");
    }
  }

  absl::Status Syntax(absl::string_view path, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at byte ", pos_, path.empty() ? "" : " in field '", path,
                     path.empty() ? "" : "'"));
  }
  static absl::Status FieldError(const Descriptor& owner, absl::string_view path,
                                 absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(owner.name(), " field '", path, "': ", what));
  }

  absl::Status Enter(absl::string_view path) {
    if (++depth_ > kMaxJsonDepth) {
      return Syntax(path, absl::StrCat("nested deeper than ", kMaxJsonDepth, " levels"));
    }
    ++pos_;  // The '{' or '['.
    return absl::OkStatus();
  }

  // After a member or element: true at the closing `close`, false after a
  // comma (and then the next one must follow).
  absl::StatusOr<bool> NextOrClose(char close, absl::string_view path) {
    SkipSpace();
    if (Peek() == close) {
      ++pos_;
      --depth_;
      return true;
    }
    if (Peek() == ',') {
      ++pos_;
      SkipSpace();
      return false;
    }
    return Syntax(path, absl::StrCat("expected ',' or '", absl::string_view(&close, 1), "'"));
  }

  // An array's elements: `element(element_path)` checks each value.
  template <typename ElementFn>
  absl::Status CheckElements(absl::string_view path, ElementFn element) {
    RETURN_IF_ERROR(Enter(path));
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      --depth_;
      return absl::OkStatus();
    }
    for (int index = 0;; ++index) {
      RETURN_IF_ERROR(element(absl::StrCat(path, "[", index, "]")));
      ASSIGN_OR_RETURN(bool closed, NextOrClose(']', path));
      if (closed) return absl::OkStatus();
    }
  }

  // An object's members: `member(key, key_path)` checks each value; keys
  // are unique.
  template <typename MemberFn>
  absl::Status CheckMembers(absl::string_view path, absl::string_view owner_name,
                            MemberFn member) {
    RETURN_IF_ERROR(Enter(path));
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      --depth_;
      return absl::OkStatus();
    }
    std::set<std::string> keys;
    for (;;) {
      if (Peek() != '"') return Syntax(path, "expected a key in double quotes");
      std::string key;
      RETURN_IF_ERROR(ParseString(path, &key));
      const std::string key_path = Join(path, key);
      if (!keys.insert(key).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "duplicate key '", key_path, "' in ", owner_name, ": give each field once"));
      }
      SkipSpace();
      if (!Consume(":")) return Syntax(key_path, "expected ':' after the key");
      SkipSpace();
      RETURN_IF_ERROR(member(key, key_path));
      ASSIGN_OR_RETURN(bool closed, NextOrClose('}', path));
      if (closed) return absl::OkStatus();
    }
  }

  absl::Status CheckMessage(const Descriptor& message, absl::string_view path) {
    return CheckMembers(
        path, message.name(), [&](const std::string& key, const std::string& key_path) {
          for (int i = 0; i < message.field_count(); ++i) {
            const FieldDescriptor& field = *message.field(i);
            if (ContractName(field) == key) return CheckField(field, message, key_path);
          }
          return absl::InvalidArgumentError(
              absl::StrCat("unknown field '", key_path, "' in ", message.name()));
        });
  }

  absl::Status CheckField(const FieldDescriptor& field, const Descriptor& owner,
                          absl::string_view path) {
    if (Peek() == 'n') {
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
          field.enum_type()->full_name() == "google.protobuf.NullValue" && Consume("null")) {
        return absl::OkStatus();
      }
      return FieldError(owner, path, "null is not a value here: leave the field out");
    }
    if (field.is_map()) {
      if (Peek() != '{') return FieldError(owner, path, "expected an object (a map)");
      const FieldDescriptor& value = *field.message_type()->map_value();
      return CheckMembers(path, owner.name(),
                          [&](const std::string&, const std::string& key_path) {
                            if (Peek() == 'n') {
                              return FieldError(owner, key_path, "null is not a value here");
                            }
                            return CheckSingular(value, owner, key_path);
                          });
    }
    if (!field.is_repeated()) return CheckSingular(field, owner, path);
    if (Peek() != '[') {
      return FieldError(owner, path, absl::StrCat("expected an array, got ", Describe()));
    }
    return CheckElements(path, [&](const std::string& element) {
      if (Peek() == 'n') return FieldError(owner, element, "null is not a value here");
      return CheckSingular(field, owner, element);
    });
  }

  // One value of `field`'s type (an element, for a repeated field).
  absl::Status CheckSingular(const FieldDescriptor& field, const Descriptor& owner,
                             absl::string_view path) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return CheckInteger(field, owner, path);
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        if (Peek() != '-' && !(Peek() >= '0' && Peek() <= '9')) {
          return FieldError(owner, path, absl::StrCat("expected a number, got ", Describe()));
        }
        return ScanNumber(path).status();
      case FieldDescriptor::CPPTYPE_BOOL:
        if (Consume("true") || Consume("false")) return absl::OkStatus();
        return FieldError(owner, path,
                          absl::StrCat("expected true or false, got ", Describe()));
      case FieldDescriptor::CPPTYPE_STRING:
      case FieldDescriptor::CPPTYPE_ENUM:
        if (Peek() != '"') {
          return FieldError(owner, path, absl::StrCat("expected a string, got ", Describe()));
        }
        return ParseString(path, nullptr);
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        const Descriptor& message = *field.message_type();
        if (IsWellKnown(message)) return CheckAnyValue(path);
        if (Peek() != '{') {
          return FieldError(owner, path, absl::StrCat("expected an object, got ", Describe()));
        }
        return CheckMessage(message, path);
      }
    }
    return FieldError(owner, path, "unsupported field type");
  }

  struct NumberToken {
    absl::string_view text;
    bool integral = true;  // No fraction, no exponent.
  };

  // A JSON number (RFC 8259 section 6).
  absl::StatusOr<NumberToken> ScanNumber(absl::string_view path) {
    const size_t start = pos_;
    auto digits = [&] {
      size_t first = pos_;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
      return pos_ > first;
    };
    NumberToken token;
    Consume("-");
    if (Peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return Syntax(path, "malformed number");
    }
    if (Consume(".")) {
      token.integral = false;
      if (!digits()) return Syntax(path, "malformed number: digits expected after '.'");
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      token.integral = false;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!digits()) return Syntax(path, "malformed number: digits expected in the exponent");
    }
    token.text = text_.substr(start, pos_ - start);
    return token;
  }

  absl::Status CheckInteger(const FieldDescriptor& field, const Descriptor& owner,
                            absl::string_view path) {
    const bool is_unsigned = field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                             field.cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
    const bool is_32 = field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                       field.cpp_type() == FieldDescriptor::CPPTYPE_INT32;
    const std::string type = absl::StrCat(is_unsigned ? "u" : "", "int", is_32 ? "32" : "64");
    if (Peek() == '"') {
      return FieldError(owner, path,
                        absl::StrCat("expected an integer (", type,
                                     "), got a string: write the number without quotes"));
    }
    if (Peek() != '-' && !(Peek() >= '0' && Peek() <= '9')) {
      return FieldError(owner, path,
                        absl::StrCat("expected an integer (", type, "), got ", Describe()));
    }
    ASSIGN_OR_RETURN(NumberToken token, ScanNumber(path));
    // Long tokens are cut in messages (a hostile one can be megabytes).
    const std::string shown = token.text.size() > 32
                                  ? absl::StrCat(token.text.substr(0, 32), "...")
                                  : std::string(token.text);
    if (!token.integral) {
      return FieldError(owner, path,
                        absl::StrCat("expected an integer (", type, "), got ", shown,
                                     ": no fraction or exponent"));
    }
    if (token.text == "-0") return FieldError(owner, path, "-0 is not an integer here: write 0");
    const std::string range =
        is_unsigned ? absl::StrCat(" (0 to ", is_32 ? std::numeric_limits<uint32_t>::max()
                                                    : std::numeric_limits<uint64_t>::max(),
                                   ")")
                    : absl::StrCat(" (", is_32 ? std::numeric_limits<int32_t>::min()
                                               : std::numeric_limits<int64_t>::min(),
                                   " to ",
                                   is_32 ? std::numeric_limits<int32_t>::max()
                                         : std::numeric_limits<int64_t>::max(),
                                   ")");
    bool in_range;
    if (is_unsigned) {
      uint64_t value = 0;
      in_range = token.text[0] != '-' && absl::SimpleAtoi(token.text, &value) &&
                 (!is_32 || value <= std::numeric_limits<uint32_t>::max());
    } else {
      int64_t value = 0;
      in_range = absl::SimpleAtoi(token.text, &value) &&
                 (!is_32 || (value >= std::numeric_limits<int32_t>::min() &&
                             value <= std::numeric_limits<int32_t>::max()));
    }
    if (!in_range) {
      return FieldError(owner, path,
                        absl::StrCat(shown, " is out of range for ", type, range));
    }
    return absl::OkStatus();
  }

  // Any JSON value (for well-known types): syntax, unique keys, depth.
  absl::Status CheckAnyValue(absl::string_view path) {
    switch (Peek()) {
      case '{':
        return CheckMembers(path, path.empty() ? "the object" : path,
                            [&](const std::string&, const std::string& key_path) {
                              return CheckAnyValue(key_path);
                            });
      case '[':
        return CheckElements(path,
                             [&](const std::string& element) { return CheckAnyValue(element); });
      case '"':
        return ParseString(path, nullptr);
      default:
        if (Consume("true") || Consume("false") || Consume("null")) return absl::OkStatus();
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) return ScanNumber(path).status();
        return Syntax(path, absl::StrCat("expected a JSON value, got ", Describe()));
    }
  }

  // A string (at its opening quote), decoded into `out` when given.
  absl::Status ParseString(absl::string_view path, std::string* out) {
    if (absl::Status scanned = ScanJsonString(text_, &pos_, out); !scanned.ok()) {
      return Syntax(path, scanned.message());
    }
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::Status CheckStrictJson(absl::string_view json, const Descriptor& descriptor) {
  return Checker(json).CheckDocument(descriptor);
}

}  // namespace blimp::api

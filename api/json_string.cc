#include "api/json_string.h"

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::api {
namespace {

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

absl::Status Bad(absl::string_view what) { return absl::InvalidArgumentError(what); }

class StringScanner {
 public:
  StringScanner(absl::string_view text, size_t* pos) : text_(text), pos_(*pos) {}

  absl::Status Scan(std::string* out) {
    ++pos_;  // The opening quote.
    for (;;) {
      if (pos_ >= text_.size()) return Bad("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c < 0x20) {
        return Bad(absl::StrCat("raw control character 0x", absl::Hex(c, absl::kZeroPad2),
                                " in a string (escape it as \\u00",
                                absl::Hex(c, absl::kZeroPad2), ")"));
      }
      if (c == '\\') {
        RETURN_IF_ERROR(Escape(out));
      } else if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++pos_;
      } else {
        RETURN_IF_ERROR(Utf8Sequence(out));
      }
    }
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  absl::StatusOr<uint32_t> Hex4() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char h = Peek();
      value <<= 4;
      if (h >= '0' && h <= '9') {
        value |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        value |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        value |= h - 'A' + 10;
      } else {
        return Bad("\\u must be followed by 4 hex digits");
      }
    }
    return value;
  }

  absl::Status Escape(std::string* out) {
    ++pos_;  // The backslash.
    const char e = Peek();
    const char* decoded = nullptr;
    switch (e) {
      case '"': decoded = "\""; break;
      case '\\': decoded = "\\"; break;
      case '/': decoded = "/"; break;
      case 'b': decoded = "\b"; break;
      case 'f': decoded = "\f"; break;
      case 'n': decoded = "\n"; break;
      case 'r': decoded = "\r"; break;
      case 't': decoded = "\t"; break;
      case 'u': break;
      default: return Bad("invalid escape in a string");
    }
    ++pos_;
    if (decoded != nullptr) {
      out->append(decoded);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(uint32_t unit, Hex4());
    if (unit >= 0xDC00 && unit <= 0xDFFF) return Bad("\\u escape is a lone low surrogate");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") return Bad("\\u escape is a lone high surrogate");
      pos_ += 2;
      ASSIGN_OR_RETURN(uint32_t low, Hex4());
      if (low < 0xDC00 || low > 0xDFFF) return Bad("\\u escape is a lone high surrogate");
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(unit, out);
    return absl::OkStatus();
  }

  absl::Status Utf8Sequence(std::string* out) {
    const unsigned char lead = static_cast<unsigned char>(text_[pos_]);
    size_t length;
    uint32_t code_point;
    uint32_t min;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code_point = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code_point = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code_point = lead & 0x07, min = 0x10000;
    } else {
      return Bad("string is not valid UTF-8");
    }
    if (text_.size() - pos_ < length) return Bad("string is not valid UTF-8");
    for (size_t i = 1; i < length; ++i) {
      const unsigned char next = static_cast<unsigned char>(text_[pos_ + i]);
      if ((next & 0xC0) != 0x80) return Bad("string is not valid UTF-8");
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (code_point < min || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return Bad("string is not valid UTF-8");
    }
    out->append(text_.data() + pos_, length);
    pos_ += length;
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t& pos_;
};

}  // namespace

absl::Status ScanJsonString(absl::string_view text, size_t* pos, std::string* out) {
  std::string scratch;
  return StringScanner(text, pos).Scan(out != nullptr ? out : &scratch);
}

}  // namespace blimp::api

#include "gateway/fault.h"

#include "absl/strings/str_cat.h"

namespace blimp::gateway {

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += absl::StrCat("\\u00", absl::string_view(&"0123456789abcdef"[c >> 4], 1),
                              absl::string_view(&"0123456789abcdef"[c & 15], 1));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

HttpResponse Fault(int status, absl::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = absl::StrCat("{\"fault_message\":", JsonString(message), "}");
  response.content_type = kJsonContentType;
  return response;
}

}  // namespace blimp::gateway

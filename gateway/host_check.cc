#include "gateway/host_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace blimp::gateway {

bool HostAllowed(const std::optional<std::string>& host,
                 const std::vector<std::string>& allowed_hosts) {
  if (!host.has_value() || host->empty()) return false;
  absl::string_view name = *host;
  absl::string_view port;
  if (name.front() == '[') {
    const size_t close = name.find(']');
    if (close == absl::string_view::npos) return false;
    port = name.substr(close + 1);
    name = name.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return false;
    in6_addr address;
    if (::inet_pton(AF_INET6, std::string(name).c_str(), &address) != 1) return false;
  } else if (const size_t colon = name.find(':'); colon != absl::string_view::npos) {
    port = name.substr(colon);
    name = name.substr(0, colon);
  }
  if (!port.empty()) {
    port.remove_prefix(1);
    int number;
    if (port.empty() || !absl::SimpleAtoi(port, &number) || number < 0 || number > 65535 ||
        !std::all_of(port.begin(), port.end(), [](char ch) { return absl::ascii_isdigit(ch); })) {
      return false;
    }
  }
  if (host->front() == '[') return true;  // An IPv6 literal, checked above.
  in_addr v4;
  if (::inet_pton(AF_INET, std::string(name).c_str(), &v4) == 1) return true;
  if (absl::EqualsIgnoreCase(name, "localhost")) return true;
  for (const std::string& allowed : allowed_hosts) {
    if (absl::EqualsIgnoreCase(name, allowed)) return true;
  }
  return false;
}

}  // namespace blimp::gateway

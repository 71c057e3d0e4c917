// The Host header check for REST over TCP (DNS rebinding: a browser page
// must not reach blimpd through a name it controls): IP literals, localhost
// and the names given by --http-allowed-hosts, each with an optional port.
#ifndef BLIMP_GATEWAY_HOST_CHECK_H_
#define BLIMP_GATEWAY_HOST_CHECK_H_

#include <optional>
#include <string>
#include <vector>

namespace blimp::gateway {

// Whether `host` (the Host header; nullopt if absent) names an allowed host.
bool HostAllowed(const std::optional<std::string>& host,
                 const std::vector<std::string>& allowed_hosts);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HOST_CHECK_H_

// Linked into an end-to-end test (alwayslink): when its tests are done,
// every HTTP exchange they made through HttpRequest (blimpd's REST socket, a
// VM's firecracker.socket, blimp-vmm --api-sock) is checked against
// api/openapi.json by api/openapi_check.py: each response must be one the
// document gives, each request blimpd accepted one it allows. So the
// document cannot drift from the gateway in any test's traffic.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/host_tools.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

class OpenApiCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string exchanges = RecordedExchangesPath();
    if (exchanges.empty() || ::access(exchanges.c_str(), R_OK) != 0) return;  // None recorded.
    const CommandResult check = RunCommand(absl::StrCat(
        "/usr/bin/python3 -P ", Runfile("api/openapi_check.py"), " ", Runfile("api/openapi.json"),
        " ", exchanges));
    std::fputs(check.output.c_str(), stdout);
    EXPECT_EQ(check.exit_code, 0) << "HTTP exchanges that api/openapi.json does not describe:\n"
                                  << check.output;
  }
};

[[maybe_unused]] ::testing::Environment* const kOpenApiCheck =
    ::testing::AddGlobalTestEnvironment(new OpenApiCheck);

}  // namespace
}  // namespace blimp::tests

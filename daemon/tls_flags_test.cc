// The loopback rule for plain-text TCP listeners and the TLS flag checks.
#include "daemon/tls_flags.h"

#include <cstdlib>
#include <fstream>

#include "daemon/listen_address.h"
#include "gateway/testing/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

using ::testing::HasSubstr;

TcpListenFlags Plain(const std::string& grpc, const std::string& http) {
  TcpListenFlags flags;
  flags.grpc_listen = grpc;
  flags.http_listen = http;
  return flags;
}

TEST(ListenAddressTest, LoopbackOnlyWhenEveryAddressIsLoopback) {
  for (const char* address : {"127.0.0.1:0", "127.1.2.3:8080", "[::1]:0", "localhost:50051",
                              "[::ffff:127.0.0.1]:1"}) {
    absl::StatusOr<bool> loopback = IsLoopbackListenAddress(address);
    ASSERT_TRUE(loopback.ok()) << address << ": " << loopback.status();
    EXPECT_TRUE(*loopback) << address;
  }
  for (const char* address : {"0.0.0.0:0", "[::]:0", ":8080", "*:1", "192.0.2.7:80",
                              "[2001:db8::1]:80", "::1:80", "ipv4:127.0.0.1:80", "nonsense"}) {
    absl::StatusOr<bool> loopback = IsLoopbackListenAddress(address);
    ASSERT_TRUE(loopback.ok()) << address << ": " << loopback.status();
    EXPECT_FALSE(*loopback) << address;
  }
  EXPECT_EQ(IsLoopbackListenAddress("no-such-host.invalid:80").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TlsFlagsTest, PlainTextOnlyOnLoopback) {
  absl::StatusOr<TcpSecurity> plain = SecureTcpListeners(Plain("127.0.0.1:0", "localhost:0"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->rest, nullptr);
  EXPECT_NE(plain->grpc, nullptr);

  absl::Status grpc = SecureTcpListeners(Plain("0.0.0.0:0", "")).status();
  EXPECT_EQ(grpc.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(grpc.message(), HasSubstr("--grpc-listen 0.0.0.0:0 is not a loopback address"));
  absl::Status http = SecureTcpListeners(Plain("127.0.0.1:0", "[::]:0")).status();
  EXPECT_THAT(http.message(), HasSubstr("--http-listen [::]:0 is not a loopback address"));
  EXPECT_THAT(http.message(), HasSubstr("--tls-cert"));
}

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<gateway::testing::TestCerts> certs = gateway::testing::MakeTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }
  void TearDown() override {
    if (!certs_.dir.empty()) std::system(("rm -rf " + certs_.dir).c_str());
  }
  TcpListenFlags Flags(const std::string& grpc, const std::string& http) const {
    return {grpc, http, certs_.server_cert, certs_.server_key, certs_.ca_cert};
  }
  gateway::testing::TestCerts certs_;
};

TEST_F(TlsFilesTest, AllThreeFilesAllowAnyAddress) {
  absl::StatusOr<TcpSecurity> security = SecureTcpListeners(Flags("0.0.0.0:0", "[::]:0"));
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_TRUE(security->tls);
  EXPECT_NE(security->rest, nullptr);
  EXPECT_NE(security->grpc, nullptr);
}

TEST_F(TlsFilesTest, IncompleteUnusedOrBadFilesAreClearErrors) {
  TcpListenFlags flags = Flags("0.0.0.0:0", "");
  flags.tls_client_ca.clear();
  EXPECT_THAT(SecureTcpListeners(flags).status().message(), HasSubstr("go together"));

  EXPECT_THAT(SecureTcpListeners(Flags("", "")).status().message(),
              HasSubstr("neither is given"));

  flags = Flags("0.0.0.0:0", "");
  flags.tls_key = certs_.client_key;  // Not the server certificate's key.
  EXPECT_THAT(SecureTcpListeners(flags).status().message(),
              HasSubstr("does not belong to the certificate"));

  flags = Flags("", "127.0.0.1:0");
  flags.tls_cert = certs_.dir + "/missing.crt";
  absl::Status missing = SecureTcpListeners(flags).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("missing.crt"));
}

}  // namespace
}  // namespace blimp::daemon

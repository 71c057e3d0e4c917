// blimpd's TCP listeners under mutual TLS, driven as a user would (gRPC,
// curl, blimpctl), with a throwaway CA made by the openssl CLI: a client with
// a certificate from the CA works; one without, one with another CA's
// certificate and plain text are refused; a non-loopback listener without
// TLS flags keeps blimpd from starting.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/testing/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Shell {
  int exit_code = -1;
  std::string out;  // stdout and stderr.
};

// Runs `command` with /bin/sh (each one bounded by its own timeout).
Shell RunShell(const std::string& command) {
  Shell result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<gateway::testing::TestCerts> certs = gateway::testing::MakeTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = new gateway::testing::TestCerts(*certs);
  }
  static void TearDownTestSuite() {
    if (certs_ != nullptr) std::system(("rm -rf " + certs_->dir).c_str());
    delete certs_;
    certs_ = nullptr;
  }

  static std::vector<std::string> TlsFlags() {
    return {"--tls-cert", certs_->server_cert, "--tls-key", certs_->server_key,
            "--tls-client-ca", certs_->ca_cert};
  }

  // A blimpd serving both APIs on TCP 127.0.0.1 with mutual TLS.
  void StartTlsDaemon(const std::string& host = "127.0.0.1") {
    std::vector<std::string> flags = {"--grpc-listen", host + ":0", "--http-listen", host + ":0"};
    for (const std::string& flag : TlsFlags()) flags.push_back(flag);
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(flags);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    absl::StatusOr<int> grpc_port = daemon_->GrpcTcpPort();
    ASSERT_TRUE(grpc_port.ok()) << grpc_port.status();
    absl::StatusOr<int> rest_port = daemon_->RestTcpPort();
    ASSERT_TRUE(rest_port.ok()) << rest_port.status();
    grpc_address_ = absl::StrCat("127.0.0.1:", *grpc_port);
    rest_url_ = absl::StrCat("https://127.0.0.1:", *rest_port);
  }

  // ListVms on TCP with `credentials`; at most 5 s.
  grpc::Status ListVms(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = blimp::v1::VmService::NewStub(grpc::CreateChannel(grpc_address_, credentials));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    blimp::v1::ListVmsResponse response;
    return stub->ListVms(&context, {}, &response);
  }

  static std::string Read(const std::string& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
  }
  // Trusts our CA; presents `cert`/`key` if given.
  static std::shared_ptr<grpc::ChannelCredentials> Ssl(const std::string& cert,
                                                       const std::string& key) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(certs_->ca_cert);
    if (!cert.empty()) {
      options.pem_cert_chain = Read(cert);
      options.pem_private_key = Read(key);
    }
    return grpc::SslCredentials(options);
  }

  // curl on the REST TCP port; `args` choose the client's certificate.
  Shell Curl(const std::string& url, const std::string& args) {
    return RunShell(absl::StrCat("curl -sS --max-time 5 -o /dev/null -w '%{http_code}' ", args, " ",
                            url));
  }
  std::string GoodCurlArgs() const {
    return absl::StrCat("--cacert ", certs_->ca_cert, " --cert ", certs_->client_cert, " --key ",
                        certs_->client_key);
  }
  // A counter of blimpd's /metrics, read on the (plain) unix socket.
  uint64_t DaemonMetric(const std::string& name) {
    Shell metrics = RunShell(absl::StrCat("curl -sS --max-time 5 --unix-socket ",
                                     daemon_->rest_socket(), " http://localhost/metrics"));
    const std::string line = "\nblimp_daemon_" + name + " ";
    const size_t at = metrics.out.find(line);
    uint64_t value = 0;
    if (at == std::string::npos) {
      ADD_FAILURE() << "no " << name << " in " << metrics.out;
      return 0;
    }
    const size_t start = at + line.size();
    EXPECT_TRUE(absl::SimpleAtoi(metrics.out.substr(start, metrics.out.find('\n', start) - start),
                                 &value));
    return value;
  }

  // blimpd with `flags` on a fresh run directory: its exit code and output
  // (it must exit on its own within 20 s).
  Shell BlimpdExit(const std::string& flags) {
    char dir[] = "/tmp/blimp-e2e-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    Shell result = RunShell(absl::StrCat("timeout 20 ", Runfile("daemon/blimpd"), " --run-dir ", dir,
                                    " --vmm-binary ", Runfile("vmm/blimp-vmm"), " ", flags));
    std::system(absl::StrCat("rm -rf ", dir).c_str());
    return result;
  }

  static gateway::testing::TestCerts* certs_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::string grpc_address_;
  std::string rest_url_;
};

gateway::testing::TestCerts* TlsE2eTest::certs_ = nullptr;

TEST_F(TlsE2eTest, GrpcWantsAClientCertificateFromTheClientCa) {
  StartTlsDaemon();
  grpc::Status good = ListVms(Ssl(certs_->client_cert, certs_->client_key));
  EXPECT_TRUE(good.ok()) << good.error_message();

  grpc::Status anonymous = ListVms(Ssl("", ""));
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAVAILABLE) << anonymous.error_message();
  grpc::Status foreign = ListVms(Ssl(certs_->other_client_cert, certs_->other_client_key));
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::UNAVAILABLE) << foreign.error_message();
  grpc::Status plain = ListVms(grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();

  // The unix socket is as before: plain, owner-only.
  EXPECT_TRUE(daemon_->GetVm("none").status().code() == absl::StatusCode::kNotFound);
}

TEST_F(TlsE2eTest, RestWantsAClientCertificateFromTheClientCa) {
  StartTlsDaemon();
  const uint64_t failures_before = DaemonMetric("http_tls_handshake_failures_total");
  Shell good = Curl(rest_url_ + "/vms", GoodCurlArgs());
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_EQ(good.out, "200");

  Shell anonymous = Curl(rest_url_ + "/vms", "--cacert " + certs_->ca_cert);
  EXPECT_NE(anonymous.exit_code, 0) << anonymous.out;
  EXPECT_THAT(anonymous.out, Not(HasSubstr("200")));
  Shell foreign = Curl(rest_url_ + "/vms",
                       absl::StrCat("--cacert ", certs_->ca_cert, " --cert ",
                                    certs_->other_client_cert, " --key ",
                                    certs_->other_client_key));
  EXPECT_NE(foreign.exit_code, 0) << foreign.out;
  EXPECT_THAT(foreign.out, Not(HasSubstr("200")));
  Shell plain = Curl(absl::StrCat("http://", rest_url_.substr(8), "/vms"), "");
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  EXPECT_THAT(plain.out, Not(HasSubstr("200")));

  EXPECT_EQ(DaemonMetric("http_tls_handshake_failures_total"), failures_before + 3);
  // And a good client again: refusals leave the listener serving.
  EXPECT_EQ(Curl(rest_url_ + "/vms", GoodCurlArgs()).out, "200");
}

TEST_F(TlsE2eTest, BlimpctlListsVmsOverMutualTls) {
  StartTlsDaemon();
  const std::string blimpctl = Runfile("client/blimpctl");
  const std::string tls = absl::StrCat(" --tls-cert ", certs_->client_cert, " --tls-key ",
                                       certs_->client_key, " --tls-ca ", certs_->ca_cert);
  Shell listed = RunShell(absl::StrCat("timeout 20 ", blimpctl, " vm list --output json --server ",
                                  grpc_address_, tls));
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
  // By name too, with the name the certificate carries.
  Shell by_name = RunShell(absl::StrCat("timeout 20 ", blimpctl, " vm list --server localhost:",
                                   grpc_address_.substr(10), tls));
  EXPECT_EQ(by_name.exit_code, 0) << by_name.out;
  Shell plain = RunShell(absl::StrCat("timeout 20 ", blimpctl, " vm list --server ", grpc_address_));
  EXPECT_EQ(plain.exit_code, 1) << plain.out;
  EXPECT_THAT(plain.out, HasSubstr("cannot reach blimpd"));
}

TEST_F(TlsE2eTest, AutoballoonRunsItsRoundsOverMutualTls) {
  StartTlsDaemon();
  // A round every 0.2 s for 2 s, then SIGINT (a clean stop, exit 0). Each
  // round lists the VMs, which fails without a usable channel.
  const std::string autoballoon =
      absl::StrCat("timeout --preserve-status -s INT 2 ", Runfile("client/blimp-autoballoon"),
                   " --budget-mib 100 --interval-s 0.2 --server ", grpc_address_);
  const std::string tls = absl::StrCat(" --tls-cert ", certs_->client_cert, " --tls-key ",
                                       certs_->client_key, " --tls-ca ", certs_->ca_cert);
  Shell good = RunShell(autoballoon + tls);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_THAT(good.out, Not(HasSubstr("round failed"))) << good.out;
  Shell plain = RunShell(autoballoon);
  EXPECT_THAT(plain.out, HasSubstr("round failed")) << plain.out;
  Shell incomplete = RunShell(autoballoon + " --tls-ca " + certs_->ca_cert);
  EXPECT_EQ(incomplete.exit_code, 2) << incomplete.out;
  EXPECT_THAT(incomplete.out, HasSubstr("go together"));
}

TEST_F(TlsE2eTest, NonLoopbackListenersNeedTls) {
  Shell grpc = BlimpdExit("--grpc-listen 0.0.0.0:0");
  EXPECT_EQ(grpc.exit_code, 1) << grpc.out;
  EXPECT_THAT(grpc.out, HasSubstr("--grpc-listen 0.0.0.0:0 is not a loopback address"));
  Shell http = BlimpdExit("--http-listen 0.0.0.0:0");
  EXPECT_EQ(http.exit_code, 1) << http.out;
  EXPECT_THAT(http.out, HasSubstr("--http-listen 0.0.0.0:0 is not a loopback address"));
  Shell mismatched = BlimpdExit(absl::StrCat("--grpc-listen 0.0.0.0:0 --tls-cert ",
                                             certs_->server_cert, " --tls-key ",
                                             certs_->client_key, " --tls-client-ca ",
                                             certs_->ca_cert));
  EXPECT_EQ(mismatched.exit_code, 1) << mismatched.out;
  EXPECT_THAT(mismatched.out, HasSubstr("does not belong to the certificate"));

  // With the TLS flags blimpd serves every interface, and 127.0.0.1 among them.
  StartTlsDaemon("0.0.0.0");
  grpc::Status good = ListVms(Ssl(certs_->client_cert, certs_->client_key));
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(Curl(rest_url_ + "/vms", GoodCurlArgs()).out, "200");
}

}  // namespace
}  // namespace blimp::tests

#include "gateway/testing/test_certs.h"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace blimp::gateway::testing {
namespace {

// Runs `script` with /bin/sh in `dir`; its output on failure.
absl::Status Sh(const std::string& dir, const std::string& script) {
  const std::string log = dir + "/openssl.log";
  const std::string command = absl::StrCat("cd '", dir, "' && (", script, ") >>'", log, "' 2>&1");
  if (std::system(command.c_str()) == 0) return absl::OkStatus();
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  return absl::UnavailableError(absl::StrCat("openssl failed: ", script, "\n", text.str()));
}

std::string NewKey(const std::string& name) {
  return absl::StrCat("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ",
                      name, ".key");
}

std::string NewCa(const std::string& name) {
  return absl::StrCat(NewKey(name), " && openssl req -x509 -new -key ", name,
                      ".key -days 2 -subj /CN=", name, " -out ", name, ".crt");
}

// A certificate for `name`.key signed by `ca`, with the extensions in `ext`.
std::string Signed(const std::string& name, const std::string& ca, const std::string& ext) {
  return absl::StrCat(NewKey(name), " && openssl req -new -key ", name, ".key -subj /CN=", name,
                      " -out ", name, ".csr && printf '", ext, "' > ", name,
                      ".ext && openssl x509 -req -in ", name, ".csr -CA ", ca, ".crt -CAkey ", ca,
                      ".key -CAcreateserial -days 2 -extfile ", name, ".ext -out ", name, ".crt");
}

}  // namespace

absl::StatusOr<TestCerts> MakeTestCerts() {
  char dir[] = "/tmp/blimp-certs-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return absl::InternalError("mkdtemp failed");
  TestCerts certs;
  certs.dir = dir;
  const std::string server_ext =
      "basicConstraints=CA:FALSE\\nsubjectAltName=IP:127.0.0.1,DNS:localhost\\n"
      "extendedKeyUsage=serverAuth,clientAuth\\n";  // A node's: blimpd dials with it too.
  const std::string client_ext = "basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n";
  for (const std::string& step :
       {NewCa("ca"), Signed("server", "ca", server_ext), Signed("client", "ca", client_ext),
        NewCa("other-ca"), Signed("other-client", "other-ca", client_ext)}) {
    if (absl::Status done = Sh(certs.dir, step); !done.ok()) return done;
  }
  auto path = [&](const std::string& file) { return absl::StrCat(certs.dir, "/", file); };
  certs.ca_cert = path("ca.crt");
  certs.server_cert = path("server.crt");
  certs.server_key = path("server.key");
  certs.client_cert = path("client.crt");
  certs.client_key = path("client.key");
  certs.other_ca_cert = path("other-ca.crt");
  certs.other_client_cert = path("other-client.crt");
  certs.other_client_key = path("other-client.key");
  return certs;
}

}  // namespace blimp::gateway::testing

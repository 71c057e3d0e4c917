// Tests only: a throwaway PKI made with the openssl CLI at run time, for the
// mutual-TLS tests (gateway, blimpd, blimpctl). Two CAs: `ca` signs the
// server certificate (SAN IP:127.0.0.1, DNS:localhost; server and client
// use, as blimpd also dials with it to migrate) and a good client
// certificate; `other_ca` signs a client certificate the server must refuse.
#ifndef BLIMP_GATEWAY_TESTING_TEST_CERTS_H_
#define BLIMP_GATEWAY_TESTING_TEST_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace blimp::gateway::testing {

struct TestCerts {
  std::string dir;
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_cert;
  std::string other_client_cert, other_client_key;  // Signed by other_ca.
};

// Makes every file in a new directory under /tmp (EC P-256 keys: fast).
// Unavailable if the openssl CLI is missing or fails (its output is in the
// message).
absl::StatusOr<TestCerts> MakeTestCerts();

}  // namespace blimp::gateway::testing

#endif  // BLIMP_GATEWAY_TESTING_TEST_CERTS_H_

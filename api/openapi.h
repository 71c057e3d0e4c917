// The OpenAPI 3.1 document of blimpd's REST API (api/openapi.json), built
// into blimpd, which serves it at GET /openapi.json. The JSON file is the
// source; tests/e2e/openapi_e2e_test.py checks blimpd's answers against it.
#ifndef BLIMP_API_OPENAPI_H_
#define BLIMP_API_OPENAPI_H_

#include "absl/strings/string_view.h"

namespace blimp::api {

// api/openapi.json, byte for byte.
absl::string_view OpenApiJson();

}  // namespace blimp::api

#endif  // BLIMP_API_OPENAPI_H_

// A gRPC server interceptor that answers a request whose bytes do not parse
// as the method's message with INVALID_ARGUMENT and a clear message. Without
// it, gRPC's generated code answers INTERNAL ("", from protobuf's
// InitializationErrorString) for a sync service and UNIMPLEMENTED for a
// callback one: a client's bad input would look like a server bug.
//
// It notes, for unary and server-streaming calls, that the request message
// failed to deserialize (POST_RECV_MESSAGE without a message); the handler
// never runs then, and the status gRPC sends is rewritten at
// PRE_SEND_STATUS. Other statuses (e.g. RESOURCE_EXHAUSTED) are kept.
#ifndef BLIMP_BASE_GRPC_INVALID_REQUEST_H_
#define BLIMP_BASE_GRPC_INVALID_REQUEST_H_

#include <memory>

#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>

namespace blimp::base {

// The factory, for servers that register several interceptors.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewInvalidRequestInterceptorFactory();

// Makes this interceptor the builder's only one (SetInterceptorCreators
// replaces the list: with more interceptors, use the factory above).
void UseInvalidRequestInterceptor(grpc::ServerBuilder* builder);

}  // namespace blimp::base

#endif  // BLIMP_BASE_GRPC_INVALID_REQUEST_H_

#include "base/grpc_invalid_request.h"

#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace blimp::base {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// "/blimp.v1.VmService/GetVm" -> "blimp.v1.GetVmRequest" (from the
// generated descriptors), or "" if the method is not in them.
std::string RequestTypeOf(absl::string_view method) {
  if (!method.empty() && method[0] == '/') method.remove_prefix(1);
  std::string name(method);
  const size_t slash = name.rfind('/');
  if (slash == std::string::npos) return "";
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return descriptor == nullptr ? "" : descriptor->input_type()->full_name();
}

class InvalidRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit InvalidRequestInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        !received_) {
      received_ = true;
      malformed_ = methods->GetRecvMessage() == nullptr;
    }
    if (malformed_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status sent = methods->GetSendStatus();
      // INTERNAL from the sync handlers, UNIMPLEMENTED from the callback
      // ones; both mean "the request did not parse" here.
      if (sent.error_code() == grpc::StatusCode::INTERNAL ||
          sent.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        const std::string type = RequestTypeOf(method_);
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            sent.error_message() == "No payload"
                ? absl::StrCat("malformed request to ", method_, ": no request message")
                : absl::StrCat("malformed request to ", method_, ": the bytes are not a valid ",
                               type.empty() ? "request message" : type,
                               " (protobuf parse failed)")));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  bool received_ = false;
  bool malformed_ = false;
};

class InvalidRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    // Client-streaming and bidi calls read their messages in the handler,
    // which sees a failed Read itself.
    if (info->type() != ServerRpcInfo::Type::UNARY &&
        info->type() != ServerRpcInfo::Type::SERVER_STREAMING) {
      return nullptr;
    }
    return new InvalidRequestInterceptor(info->method());
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewInvalidRequestInterceptorFactory() {
  return std::make_unique<InvalidRequestInterceptorFactory>();
}

void UseInvalidRequestInterceptor(grpc::ServerBuilder* builder) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(NewInvalidRequestInterceptorFactory());
  builder->experimental().SetInterceptorCreators(std::move(creators));
}

}  // namespace blimp::base

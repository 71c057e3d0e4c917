// HttpServer: serves a Router over HTTP/1.1 (keep-alive) with libevent's
// evhttp, on unix sockets (mode 0600) and TCP. Requests are handled one at a
// time on the server thread; the router's gRPC calls are synchronous and
// bounded by its deadline.
//
//   auto server = HttpServer::Create(router);          // router outlives it
//   RETURN_IF_ERROR((*server)->ListenUnix("/run/vm/firecracker.socket"));
//   RETURN_IF_ERROR((*server)->Start());                // own thread
//   ...
//   (*server)->Stop();                                  // from any thread
//
// Listen* must be called before Start()/Run().
#ifndef BLIMP_GATEWAY_HTTP_SERVER_H_
#define BLIMP_GATEWAY_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/router.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;

namespace blimp::gateway {

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const Router& router);
  // Stops serving and frees everything.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves on a unix socket at `path`, replacing a stale socket file there
  // (never another kind of file). The socket is mode 0600. Fails clearly if
  // the path is too long for sockaddr_un or its directory does not exist.
  absl::Status ListenUnix(const std::string& path);
  // Serves on TCP "host:port" (e.g. "127.0.0.1:8080", "[::1]:0"); port 0
  // picks a free port, returned in `bound_port` if given.
  absl::Status ListenTcp(const std::string& host_port, int* bound_port = nullptr);

  // Serves on the calling thread until Stop().
  void Run();
  // Serves on an internal thread (Run()).
  absl::Status Start();
  // Makes Run() return, joins the internal thread and unlinks the unix
  // sockets. Thread-safe, idempotent.
  void Stop();

 private:
  HttpServer(const Router& router, event_base* base, evhttp* http);

  static void OnRequest(evhttp_request* request, void* self);
  static void OnStop(int fd, short events, void* self);
  void Serve(evhttp_request* request);

  const Router& router_;
  event_base* const base_;     // Owned.
  evhttp* const http_;         // Owned.
  event* stop_event_ = nullptr;  // Owned.
  std::vector<std::string> unix_paths_;
  std::thread thread_;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_HTTP_SERVER_H_

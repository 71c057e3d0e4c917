#include "gateway/http_server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"
#include "gateway/http_status.h"
#include "glog/logging.h"

namespace blimp::gateway {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

const char* MethodName(enum evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
  }
  return "UNKNOWN";
}

// "host:port" or "[v6]:port".
absl::Status SplitHostPort(const std::string& host_port, std::string* host, std::string* port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not host:port (e.g. 127.0.0.1:8080)"));
  }
  *host = host_port.substr(0, colon);
  *port = host_port.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int number;
  if (!absl::SimpleAtoi(*port, &number) || number < 0 || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in '", host_port, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const Router& router) {
  static std::once_flag threads_once;
  static int threads_result = 0;
  std::call_once(threads_once, [] { threads_result = evthread_use_pthreads(); });
  if (threads_result != 0) return absl::InternalError("evthread_use_pthreads failed");

  event_base* base = event_base_new();
  if (base == nullptr) return absl::InternalError("event_base_new failed");
  evhttp* http = evhttp_new(base);
  if (http == nullptr) {
    event_base_free(base);
    return absl::InternalError("evhttp_new failed");
  }
  auto server = std::unique_ptr<HttpServer>(new HttpServer(router, base, http));
  // An event never added, only activated: Stop() activates it, which works
  // even before the loop has started (a bare loopbreak would be lost then).
  server->stop_event_ = event_new(base, -1, 0, &HttpServer::OnStop, server.get());
  if (server->stop_event_ == nullptr) return absl::InternalError("event_new failed");
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                       EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  // Bigger bodies get libevent's own 413 before anything is buffered.
  evhttp_set_max_body_size(http, kMaxBodyBytes);
  evhttp_set_max_headers_size(http, 16 * 1024);
  evhttp_set_timeout(http, 60);
  // Read (and drop) the rest of a too-large body so the client sees the 413.
  evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
  evhttp_set_gencb(http, &HttpServer::OnRequest, server.get());
  return server;
}

HttpServer::HttpServer(const Router& router, event_base* base, evhttp* http)
    : router_(router), base_(base), http_(http) {}

HttpServer::~HttpServer() {
  if (stop_event_ != nullptr) {
    Stop();
    event_free(stop_event_);
  }
  evhttp_free(http_);
  event_base_free(base_);
}

absl::Status HttpServer::ListenUnix(const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket path '", path, "' is empty or longer than ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("cannot listen on '", path, "': directory '", dir, "' does not exist"));
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(
          absl::StrCat("'", path, "' exists and is not a socket; not replacing it"));
    }
    if (::unlink(path.c_str()) != 0) return Errno(absl::StrCat("unlink ", path));
  }
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Errno("socket(AF_UNIX)");
  // Linux gives the socket file the socket inode's mode (minus umask): set
  // 0600 before bind so the file is never more open than that.
  if (::fchmod(fd.get(), 0600) != 0) return Errno("fchmod socket");
  // SAFETY: address is a sockaddr_un; bind reads sizeof(address) bytes.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Errno(absl::StrCat("bind ", path));
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0) {
    absl::Status status = Errno(absl::StrCat("chmod/listen ", path));
    ::unlink(path.c_str());
    return status;
  }
  if (evhttp_accept_socket_with_handle(http_, fd.get()) == nullptr) {
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("evhttp cannot accept on ", path));
  }
  fd.Release();  // evhttp owns (and closes) it now.
  unix_paths_.push_back(path);
  LOG(INFO) << "gateway: serving HTTP on unix:" << path;
  return absl::OkStatus();
}

absl::Status HttpServer::ListenTcp(const std::string& host_port, int* bound_port) {
  std::string host, port;
  if (absl::Status split = SplitHostPort(host_port, &host, &port); !split.ok()) return split;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", host_port, "': ", ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host_port));
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    base::UniqueFd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd.valid()) {
      last = Errno("socket");
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 64) != 0) {
      last = Errno(absl::StrCat("bind/listen ", host_port));
      continue;
    }
    sockaddr_storage bound = {};
    socklen_t length = sizeof(bound);
    // SAFETY: bound is a sockaddr_storage of `length` bytes.
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    const int actual_port =
        bound.ss_family == AF_INET6
            // SAFETY: the family says which sockaddr this is.
            ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
            : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    if (evhttp_accept_socket_with_handle(http_, fd.get()) == nullptr) {
      return absl::InternalError(absl::StrCat("evhttp cannot accept on ", host_port));
    }
    fd.Release();  // evhttp owns (and closes) it now.
    if (bound_port != nullptr) *bound_port = actual_port;
    LOG(INFO) << "gateway: serving HTTP on tcp:" << host << ":" << actual_port;
    return absl::OkStatus();
  }
  return last;
}

void HttpServer::Run() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_) return;
  }
  event_base_dispatch(base_);
}

absl::Status HttpServer::Start() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return absl::FailedPreconditionError("the HTTP server was stopped");
  if (thread_.joinable()) return absl::FailedPreconditionError("the HTTP server already runs");
  thread_ = std::thread([this] { event_base_dispatch(base_); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  std::thread thread;
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    thread = std::move(thread_);
  }
  event_active(stop_event_, 0, 0);
  if (thread.joinable()) thread.join();
  for (const std::string& path : unix_paths_) ::unlink(path.c_str());
}

void HttpServer::OnStop(int, short, void* self) {
  event_base_loopbreak(static_cast<HttpServer*>(self)->base_);
}

void HttpServer::OnRequest(evhttp_request* request, void* self) {
  static_cast<HttpServer*>(self)->Serve(request);
}

void HttpServer::Serve(evhttp_request* request) {
  HttpRequest in;
  in.method = MethodName(evhttp_request_get_command(request));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  in.path = path != nullptr && *path != '\0' ? path : "/";
  evbuffer* input = evhttp_request_get_input_buffer(request);
  const size_t length = evbuffer_get_length(input);
  in.body.resize(length);
  if (length > 0) evbuffer_copyout(input, in.body.data(), length);

  const HttpResponse out = router_.Handle(in);
  VLOG(1) << "gateway: " << in.method << " " << in.path << " -> " << out.status;
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  if (!out.body.empty()) {
    evhttp_add_header(headers, "Content-Type",
                      out.content_type.empty() ? kJsonContentType : out.content_type.c_str());
  }
  for (const auto& [name, value] : out.headers) {
    evhttp_add_header(headers, name.c_str(), value.c_str());
  }
  evbuffer* body = evbuffer_new();
  evbuffer_add(body, out.body.data(), out.body.size());
  evhttp_send_reply(request, out.status, std::string(ReasonPhrase(out.status)).c_str(), body);
  evbuffer_free(body);
}

}  // namespace blimp::gateway
